"""Genome-wide prediction of a chromosome: tracks, sites, held-out metrics."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

pytest.importorskip("tensorflow")

from conftest import PREDICT_LENGTH, PREDICT_SIZES  # noqa: E402
from tfbinding.genomewide.predict import predict_chromosome  # noqa: E402
from tfbinding.models.evaluate import evaluate_models  # noqa: E402


def test_stride_equal_to_length_reproduces_the_evaluation_scores(trained, tmp_path):
    root, genome = trained
    evaluate_models(root / "dataset", {"full": root / "full"}, tmp_path / "evaluation", bootstrap=10)
    metrics = predict_chromosome(root / "full", "full", genome, "chrA", tmp_path / "pred", length=PREDICT_LENGTH,
                                 stride=PREDICT_LENGTH, threshold=0.5, peaks=root / "peaks.bed", chunk=700)
    with np.load(tmp_path / "evaluation/test_scores.npz") as evaluation:
        evaluated = dict(zip(evaluation["ids"].tolist(), evaluation["full"].tolist()))
    with np.load(tmp_path / "pred/chrA.windows.npz") as predicted:
        ids = [f"chrA:{s}-{s + PREDICT_LENGTH}" for s in predicted["starts"].tolist()]
        scores = dict(zip(ids, predicted["scores"].tolist()))
    assert set(evaluated) <= set(scores)
    np.testing.assert_allclose([scores[i] for i in evaluated], list(evaluated.values()), atol=1e-6)
    assert metrics["peaks"] > 0 and 0 <= metrics["roc_auc"] <= 1
    assert metrics["skipped_windows"]["n_fraction"] == 10  # the 500-bp N run


def test_held_out_chromosome_tracks_are_valid(trained, tmp_path):
    root, genome = trained
    metrics = predict_chromosome(root / "full", "full", genome, "chrB", tmp_path, length=PREDICT_LENGTH,
                                 stride=20, threshold=0.5, peaks=root / "peaks.bed")
    assert metrics["roc_auc"] > 0.5 and metrics["windows"] > 900
    rows = [line.split("\t") for line in (tmp_path / "chrB.bedGraph").read_text().splitlines()[1:]]
    starts, ends = np.array([int(r[1]) for r in rows]), np.array([int(r[2]) for r in rows])
    assert np.all(starts[1:] >= ends[:-1]) and ends.max() <= PREDICT_SIZES["chrB"]
    assert not ((starts < 1450) & (ends > 1050)).any()  # windows mostly in the N run are skipped
    bigwig = pyBigWig.open(str(tmp_path / "chrB.bw"))
    values = [v for _, _, v in bigwig.intervals("chrB")]
    np.testing.assert_allclose(values, [float(r[3]) for r in rows], atol=1e-4)
    bigwig.close()
    sites = (tmp_path / "chrB.sites.narrowPeak").read_text().splitlines()
    assert len(sites) == metrics["sites"]


def test_two_chromosomes_merge_into_one_genome_wide_track(trained, tmp_path):
    from tfbinding.genomewide.merge_predictions import merge_predictions

    root, genome = trained
    chroms = list(PREDICT_SIZES)
    for chrom in chroms:
        predict_chromosome(root / "full", "full", genome, chrom, tmp_path, length=PREDICT_LENGTH,
                           stride=25, threshold=0.5)
    merged = merge_predictions([tmp_path / f"{c}.bw" for c in chroms],
                               [tmp_path / f"{c}.sites.narrowPeak" for c in chroms], chroms,
                               f"{genome}.fai", tmp_path / "genome.bw", tmp_path / "genome.sites.narrowPeak")
    whole = pyBigWig.open(str(tmp_path / "genome.bw"))
    assert whole.chroms() == PREDICT_SIZES
    for chrom in chroms:
        single = pyBigWig.open(str(tmp_path / f"{chrom}.bw"))
        assert whole.intervals(chrom) == single.intervals(chrom)
        single.close()
    whole.close()
    rows = [line.split("\t") for line in (tmp_path / "genome.sites.narrowPeak").read_text().splitlines()]
    assert len(rows) == merged["sites"] == sum(
        len((tmp_path / f"{c}.sites.narrowPeak").read_text().splitlines()) for c in chroms)
    assert {row[0] for row in rows} <= set(chroms) and all(len(row) == 10 for row in rows)
    keys = [(row[0], int(row[1]), int(row[2])) for row in rows]
    assert keys == sorted(keys)


def test_a_window_that_does_not_fit_the_model_is_refused_before_any_work(trained, tmp_path):
    from tfbinding.errors import InputError

    root, genome = trained
    with pytest.raises(InputError, match=f"reads {PREDICT_LENGTH} bp") as error:
        predict_chromosome(root / "full", "full", genome, "chrA", tmp_path / "pred", length=PREDICT_LENGTH,
                           flank=20, stride=PREDICT_LENGTH)
    assert "\n" not in str(error.value) and not (tmp_path / "pred").exists()


@pytest.mark.parametrize("stride", [7, 50, 130])
def test_window_selection_in_blocks_equals_one_call(stride):
    from tfbinding.data.tiling import select_windows, tile
    from tfbinding.genomewide.predict import select_tiled_windows

    rng = np.random.default_rng(stride)
    sequence = np.frombuffer(b"ACGTN", np.uint8)[rng.choice(5, 20_095, p=[0.24] * 4 + [0.04])].copy()
    sequence[3000:4200] = ord("N")  # a gap across block ends
    sequence[-30:] = ord("n")
    starts = tile(len(sequence), 100, stride)
    whole = select_windows(sequence, starts, 100, 0.1, name="chrT")
    for block in (1, 13, 64, len(starts) - 1, len(starts)):
        part = select_tiled_windows(sequence, starts, 100, 0.1, name="chrT", block=block)
        assert part.starts.dtype == whole.starts.dtype
        np.testing.assert_array_equal(part.starts, whole.starts)
        assert part.dropped == whole.dropped and list(part.dropped) == list(whole.dropped)
        assert part.considered == whole.considered
    assert whole.dropped["past_chrom_end"] > 0 and whole.dropped["n_fraction"] > 0
    sequence[15_000] = ord("!")  # a bad byte is refused as by one call, wherever it lies
    with pytest.raises(Exception, match="position 15000") as error:
        select_windows(sequence, starts, 100, 0.1, name="chrT")
    with pytest.raises(type(error.value), match="position 15000"):
        select_tiled_windows(sequence, starts, 100, 0.1, name="chrT", block=13)


def test_predict_in_blocks_writes_the_same_files(trained, tmp_path, monkeypatch):
    import tfbinding.genomewide.predict as predict
    import tfbinding.genomewide.tracks as tracks

    root, genome = trained
    options = dict(length=PREDICT_LENGTH, stride=20, threshold=0.5, peaks=root / "peaks.bed")
    whole = predict_chromosome(root / "full", "full", genome, "chrB", tmp_path / "whole", **options)
    monkeypatch.setattr(predict, "SELECT_BLOCK", 37)
    monkeypatch.setattr(tracks, "TRACK_BLOCK", 41)
    blocks = predict_chromosome(root / "full", "full", genome, "chrB", tmp_path / "blocks", **options)
    assert blocks == whole and whole["skipped_windows"]["n_fraction"] > 0
    for suffix in ("bedGraph", "bw", "sites.narrowPeak", "metrics.json"):
        assert (tmp_path / f"blocks/chrB.{suffix}").read_bytes() == (tmp_path / f"whole/chrB.{suffix}").read_bytes()
    with np.load(tmp_path / "whole/chrB.windows.npz") as a, np.load(tmp_path / "blocks/chrB.windows.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[key], b[key]) for key in a.files)
