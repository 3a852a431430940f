"""split.folds: fold assignment (deterministic, leak-free on the rows' real spans, every
window in exactly one test fold), the fold dataset layout and its manifest.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tfbinding import load_dataset
from tfbinding.data.dataset import assemble_dataset
from tfbinding.data.loader import dataset_folds
from tfbinding.data.onehot import build_onehot
from tfbinding.data.split import SplitSpec, block_folds, chromosome_folds, split_windows
from tfbinding.errors import InputError
from tfbinding.layout import FOLDS, fold_parts, onehot_path, part_names, read_arrays
from tiny_genome import CHROMS, FLANK, LENGTH, build_pieces, expected_onehot, parse_id


def build_folds(pieces, work, split):
    table = work / "split.npz"
    split_windows(CHROMS, pieces["labels"], table, length=LENGTH, flank=FLANK, split=split)
    prefixes = [work / "onehot" / chrom for chrom in CHROMS]
    for chrom, prefix in zip(CHROMS, prefixes):
        written = build_onehot(table, pieces["fasta"], chrom, prefix)
        assert written == [onehot_path(prefix, part) for part in part_names(split.folds)]
    return assemble_dataset(table, prefixes, work / "dataset")


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory):
    """Windows every 50 bp with 20-bp flanks: neighbouring rows share bases."""
    return build_pieces(tmp_path_factory.mktemp("overlapping"), stride=50)


def spans(ids):
    out = []
    for window_id in ids:
        chrom, start, end = parse_id(str(window_id))
        out.append((chrom, start - FLANK, end + FLANK))
    return out


def shares_bases(a, b):
    by_chrom = {}
    for chrom, start, end in b:
        by_chrom.setdefault(chrom, []).append((start, end))
    return any(start < e and s < end for chrom, start, end in a for s, e in by_chrom.get(chrom, []))


def check_folds(work, folds):
    """Every kept window in exactly one test fold; no fold's splits share a base; X rows
    are the genome's; each fold a normal dataset folder."""
    tests = []
    for fold in range(folds):
        data = load_dataset(work / "dataset", fold=fold)
        assert data.manifest["fold"]["fold"] == fold
        ids = {name: [str(i) for i in getattr(data, name)["ids"]] for name in ("train", "valid", "test")}
        assert not shares_bases(spans(ids["test"]), spans(ids["train"] + ids["valid"]))
        assert not shares_bases(spans(ids["valid"]), spans(ids["train"]))
        for name in ("train", "valid", "test"):
            split = getattr(data, name)
            assert len(split["X"]) == len(split["y"]) == len(split["w"]) == len(ids[name])
            for row in range(0, len(ids[name]), 3):
                chrom, start, _ = parse_id(ids[name][row])
                assert np.array_equal(split["X"][row], expected_onehot(chrom, start))
        tests += ids["test"]
        # every window of the fold is in one of its splits, and all folds see the same windows
        assert sorted(ids["train"] + ids["valid"] + ids["test"]) == sorted(
            str(i) for name in ("train", "valid", "test")
            for i in getattr(load_dataset(work / "dataset", fold=0), name)["ids"])
    assert len(tests) == len(set(tests))
    return tests


def test_chromosome_folds_every_window_in_one_test_fold(pieces, tmp_path):
    manifest = build_folds(pieces, tmp_path, SplitSpec(method="chromosome", folds=3))
    tests = check_folds(tmp_path, 3)
    table = read_arrays(tmp_path / "split.npz")
    assert len(tests) == int(np.count_nonzero(table["split"] >= 0)) == manifest["totals"]["windows"]
    assert manifest["folds"] == 3 and dataset_folds(tmp_path / "dataset") == 3
    # chromosomes by size, each to the emptiest part: chr1 (most windows), chr2, chr3
    assert [p["chromosomes"] for p in manifest["parts"]] == [["chr1"], ["chr2"], ["chr3"]]
    assert sum(p["positives"] for p in manifest["parts"]) == manifest["totals"]["positives"]
    for entry in manifest["folds_summary"]:
        assert entry["test_parts"] == [entry["fold"]]
        assert entry["valid_parts"] == [(entry["fold"] + 1) % 3]
        assert entry["test"]["windows"] == manifest["parts"][entry["fold"]]["windows"]
    assert manifest["split"]["leak_check"]["leak_free"] is True


def test_block_folds_are_leak_free_on_real_spans(overlapping, tmp_path):
    split = SplitSpec(method="blocks", block_size=400, folds=3, seed=1)
    manifest = build_folds(overlapping, tmp_path, split)
    check_folds(tmp_path, 3)
    check = manifest["split"]["leak_check"]
    assert check["neighbour_pairs_sharing_bases"] > 0       # overlapping rows exist ...
    assert check["pairs_sharing_bases_across_parts"] == 0   # ... but never across parts
    assert manifest["totals"]["dropped"]["block_boundary"] > 0
    assert all(p["blocks"] and all(":" in b for b in p["blocks"]) for p in manifest["parts"])
    # deterministic: the same seed gives the same bytes of the split table
    again = tmp_path / "again.npz"
    split_windows(CHROMS, overlapping["labels"], again, length=LENGTH, flank=FLANK, split=split)
    first, second = read_arrays(tmp_path / "split.npz"), read_arrays(again)
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_fold_weights_are_balanced_within_each_fold_split(pieces, tmp_path):
    build_folds(pieces, tmp_path, SplitSpec(method="chromosome", folds=3))
    for fold in range(3):
        data = load_dataset(tmp_path / "dataset", fold=fold)
        for name in ("train", "valid", "test"):
            y, w = np.asarray(getattr(data, name)["y"]), np.asarray(getattr(data, name)["w"])
            if 0 < y.sum() < len(y):
                assert np.isclose(w[y == 1].sum(), w[y == 0].sum(), rtol=1e-4)


def test_load_dataset_of_folds_needs_a_fold(pieces, tmp_path):
    build_folds(pieces, tmp_path, SplitSpec(method="chromosome", folds=3))
    with pytest.raises(InputError, match="fold=k"):
        load_dataset(tmp_path / "dataset")
    with pytest.raises(InputError, match="fold 3 does not exist"):
        load_dataset(tmp_path / "dataset", fold=3)
    assert load_dataset(tmp_path / "dataset" / "fold1").manifest["fold"]["fold"] == 1


def test_folds_unset_leaves_the_one_split_table_as_before(pieces, tmp_path):
    table = tmp_path / "split.npz"
    split_windows(CHROMS, pieces["labels"], table, length=LENGTH, flank=FLANK,
                  split=SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",)))
    stored = read_arrays(table)
    assert FOLDS not in stored and "folds" not in json.loads(str(stored["spec"]))
    assert part_names(None) == ("train", "valid", "test")


@pytest.mark.parametrize("options, message", [
    ({"method": "random", "folds": 5}, "split.method: blocks or chromosome"),
    ({"method": "blocks", "folds": 2}, "at least 3"),
    ({"method": "chromosome", "folds": 3, "test": ("chr1",)}, "remove split.valid"),
    ({"method": "blocks", "folds": 3, "negative_fraction": 0.5}, "negatives cannot be dropped"),
])
def test_fold_specs_refused(options, message):
    with pytest.raises(InputError, match=message):
        SplitSpec(**options)


def test_fold_parts_rotate():
    assert fold_parts(0, 5) == {"train": [2, 3, 4], "valid": [1], "test": [0]}
    assert fold_parts(4, 5) == {"train": [1, 2, 3], "valid": [0], "test": [4]}


def test_chromosome_folds_balance_and_refuse_too_few():
    parts, members = chromosome_folds(["a", "b", "c", "d"], np.repeat([0, 1, 2, 3], [50, 30, 20, 10]), 3)
    assert members == [["a"], ["b"], ["c", "d"]]
    with pytest.raises(InputError, match="at least 5 chromosomes"):
        chromosome_folds(["a", "b"], np.array([0, 1]), 5)


def test_block_folds_spread_the_positives():
    starts = np.arange(0, 100_000, 100)
    positive = np.zeros(len(starts), dtype=np.uint8)
    positive[np.random.default_rng(0).choice(len(starts), 40, replace=False)] = 1
    parts, _ = block_folds(np.array(["c"] * len(starts)), starts, positive, np.ones(len(starts), bool),
                           5_000, 5, seed=0)
    per_part = np.bincount(parts[positive == 1], minlength=5)
    assert per_part.max() - per_part.min() <= 4
