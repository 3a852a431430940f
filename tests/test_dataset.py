"""The dataset step: the assembled folder and its manifest, on the tiny hand-made genome."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tfbinding import load_dataset
from tfbinding.data.dataset import assemble_dataset
from tfbinding.data.loader import Dataset
from tfbinding.data.split import SplitSpec
from tfbinding.errors import InputError
from tfbinding.layout import onehot_path
from tiny_genome import (
    CHROMS,
    FLANK,
    LENGTH,
    SEQUENCES,
    STRIDE,
    all_ids,
    build,
    coverage,
    expected_drops,
    expected_kept,
    expected_onehot,
    parse_id,
)


def test_random_split_dataset_contents(pieces, tmp_path):
    manifest = build(pieces, tmp_path)
    out = tmp_path / "dataset"
    data = load_dataset(out)
    assert isinstance(data, Dataset)
    assert data.manifest == manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest

    expected_windows = {(c, s) for c in CHROMS for s in expected_kept(c)}
    ids = all_ids(data)
    assert len(ids) == len(set(ids)) == len(expected_windows)
    assert {parse_id(i)[:2] for i in ids} == expected_windows

    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        X, y, w, split_ids = split["X"], split["y"], split["w"], split["ids"]
        n = len(split_ids)
        assert n > 0
        assert X.shape == (n, LENGTH + 2 * FLANK, 4) and X.dtype == np.uint8
        assert y.shape == (n, 1) and y.dtype == np.float32
        assert w.shape == (n, 1) and w.dtype == np.float32
        for row, window_id in enumerate(split_ids):
            chrom, start, end = parse_id(str(window_id))
            assert end - start == LENGTH
            assert np.array_equal(X[row], expected_onehot(chrom, start))
            assert y[row, 0] == float(coverage(chrom)[start:end].any())
        # balanced weights: each present class sums to n / 2 within the split
        for value in (0.0, 1.0):
            members = w[y == value]
            if members.size:
                assert members.sum(dtype=np.float64) == pytest.approx(n / 2, rel=1e-6)
        summary = manifest["splits"][name]
        assert summary["windows"] == n
        assert summary["positives"] == int(y.sum())
        assert summary["weight_sum_positive"] == pytest.approx(n / 2 if y.sum() else 0.0)

    positives = sum(int(getattr(data, s)["y"].sum()) for s in ("train", "valid", "test"))
    assert positives == sum(int(coverage(c)[s:s + LENGTH].any()) for c, s in expected_windows)
    assert manifest["window"] == {"length": 100, "flank": 20, "input_length": 140,
                                  "channels": "ACGT", "coordinates": "0-based, half-open (BED)"}
    assert manifest["totals"]["considered"] == sum(len(range(0, len(SEQUENCES[c]), STRIDE)) for c in CHROMS)
    assert manifest["totals"]["windows"] == len(expected_windows)
    assert manifest["totals"]["positives"] == positives
    assert manifest["totals"]["dropped"] == {**expected_drops(), "ambiguous_label": 0}
    assert expected_drops() == {"past_chrom_end": 2, "blacklist": 1, "n_fraction": 1}  # each reason occurs
    assert manifest["chromosomes"]["chr1"]["labelled"] == len(expected_kept("chr1"))
    assert manifest["chromosomes"]["chr1"]["peaks"] == 3
    assert repr(data).startswith("Dataset(") and "train=" in repr(data)
    # no partial folder is left beside the dataset
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "onehot", "split.npz"]


def test_onehot_file_that_disagrees_with_the_split_table(pieces, tmp_path):
    build(pieces, tmp_path)
    piece = onehot_path(tmp_path / "onehot" / "chr2", "valid")
    np.save(piece, np.load(piece)[:-1])
    with pytest.raises(InputError, match=r"chr2.valid.npy: shape \(\d+, 140, 4\), but the split "
                                         r"table of chr2 needs"):
        assemble_dataset(tmp_path / "split.npz", [tmp_path / "onehot" / c for c in CHROMS],
                         tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_one_prefix_per_chromosome_is_required(pieces, tmp_path):
    build(pieces, tmp_path)
    with pytest.raises(InputError, match="lists 3 chromosomes but 2 one-hot prefixes"):
        assemble_dataset(tmp_path / "split.npz", [tmp_path / "onehot" / c for c in CHROMS[:2]],
                         tmp_path / "other")


def test_rebuilding_replaces_the_dataset_folder(pieces, tmp_path):
    build(pieces, tmp_path)
    out = tmp_path / "dataset"
    (out / "stale.txt").write_text("from an older build")
    build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",)))
    assert not (out / "stale.txt").exists()
    assert load_dataset(out).manifest["split"]["method"] == "chromosome"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "onehot", "split.npz"]


def test_provenance_is_merged_into_the_manifest(pieces, tmp_path):
    manifest = build(pieces, tmp_path, provenance={"inputs": {"peaks": "p.bed"}})
    assert manifest["inputs"] == {"peaks": "p.bed"}
    assert "numpy" in manifest["versions"]


def test_provenance_records_the_url_of_each_downloaded_input(pieces, tmp_path):
    from tfbinding.data.dataset import provenance

    info = tmp_path / "genome.source.json"
    info.write_text(json.dumps({"source": "resources/downloads/0123456789/chr9.fa.gz", "sha256": "00"}))
    inputs = provenance("demo", info, pieces["peaks"], urls={"fasta": "https://a.example/b/chr9.fa.gz"})
    assert inputs["inputs"]["fasta"]["url"] == "https://a.example/b/chr9.fa.gz"
    assert inputs["inputs"]["peaks"]["url"] is None and inputs["inputs"]["blacklist"] is None


def test_manifest_is_strict_json(pieces, tmp_path):
    build(pieces, tmp_path, provenance={"inputs": {"odd": float("nan")}})
    text = (tmp_path / "dataset" / "manifest.json").read_text()
    manifest = json.loads(text, parse_constant=lambda constant: pytest.fail(f"{constant} in the manifest"))
    assert manifest["inputs"]["odd"] is None and "/inputs/odd" in manifest["null_reasons"]


def test_chrom_rows_equal_rows_for_chrom_grouped_or_not():
    """The dataset step's per-chromosome row ranges give rows_for_chrom's rows; a table
    whose rows are not grouped by chromosome falls back to it."""
    from tfbinding.data.dataset import ChromRows
    from tfbinding.layout import rows_for_chrom

    rng = np.random.default_rng(2)
    chrom_index = np.repeat(np.arange(5, dtype=np.int32), [4, 0, 7, 1, 3])
    for index in (chrom_index, rng.permutation(chrom_index)):
        table = {"chroms": np.array(list("abcde")), "chrom_index": index,
                 "split": rng.integers(-1, 3, len(index)).astype(np.int8)}
        finder = ChromRows(table)
        assert finder.grouped == bool(np.all(np.diff(index) >= 0))
        for chrom in "abcde":
            for value in range(-1, 3):
                assert finder(chrom, value).tolist() == rows_for_chrom(table, chrom, value).tolist()
