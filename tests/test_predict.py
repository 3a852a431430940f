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
