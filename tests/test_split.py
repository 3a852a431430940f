"""The split step: stratified random, chromosome and block splits, the leak check, the table."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding import load_dataset
from tfbinding.data.split import (
    TEST,
    TRAIN,
    VALID,
    SplitSpec,
    block_ids,
    block_split,
    check_no_leak,
    chromosome_split,
    crosses_block,
    random_split,
    shared_base_pairs,
)
from tfbinding.errors import InputError
from tfbinding.layout import onehot_path, rows_for_chrom
from tiny_genome import CHROMS, FLANK, LENGTH, build, expected_kept, expected_onehot, parse_id


def arr(values):
    return np.array(values, dtype=np.int64)


# --------------------------------------------------------------------------- random_split

def make_labels(negatives=100, positives=20, seed=3):
    labels = np.array([0] * negatives + [1] * positives, dtype=np.uint8)
    return np.random.default_rng(seed).permutation(labels)


def test_random_split_keeps_class_proportions_exactly():
    labels = make_labels(100, 20)
    assignment = random_split(labels, [0.8, 0.1, 0.1], seed=0)
    assert assignment.dtype == np.int8
    assert set(assignment.tolist()) == {TRAIN, VALID, TEST}
    counts = {(split, value): int(np.count_nonzero((assignment == split) & (labels == value)))
              for split in (TRAIN, VALID, TEST) for value in (0, 1)}
    assert counts == {(TRAIN, 0): 80, (VALID, 0): 10, (TEST, 0): 10,
                      (TRAIN, 1): 16, (VALID, 1): 2, (TEST, 1): 2}


def test_random_split_is_reproducible_with_the_same_seed():
    labels = make_labels(200, 50)
    first = random_split(labels, [0.6, 0.2, 0.2], seed=7)
    second = random_split(labels, [0.6, 0.2, 0.2], seed=7)
    assert np.array_equal(first, second)


def test_random_split_differs_with_another_seed_but_keeps_proportions():
    labels = make_labels(200, 50)
    first = random_split(labels, [0.6, 0.2, 0.2], seed=7)
    other = random_split(labels, [0.6, 0.2, 0.2], seed=8)
    assert not np.array_equal(first, other)
    for split in (TRAIN, VALID, TEST):
        for value in (0, 1):
            assert (np.count_nonzero((first == split) & (labels == value))
                    == np.count_nonzero((other == split) & (labels == value)))


def test_random_split_rest_goes_to_test_and_valid_never_overflows():
    labels = np.zeros(3, dtype=np.uint8)
    # round(0.9 * 3) = 3 train, nothing is left for valid or test
    assignment = random_split(labels, [0.9, 0.5, 0.0], seed=0)
    assert assignment.tolist() == [TRAIN] * 3
    assignment = random_split(np.zeros(10, dtype=np.uint8), [0.5, 0.3, 0.2], seed=1)
    assert sorted(assignment.tolist()) == [TRAIN] * 5 + [VALID] * 3 + [TEST] * 2


@settings(max_examples=60, deadline=None)
@given(negatives=st.integers(0, 60), positives=st.integers(0, 60), seed=st.integers(0, 2**32 - 1),
       f_train=st.floats(0.0, 1.0), f_valid=st.floats(0.0, 1.0))
def test_random_split_per_class_counts_property(negatives, positives, seed, f_train, f_valid):
    labels = make_labels(negatives, positives, seed=seed % 97)
    fractions = [f_train, f_valid, max(0.0, 1.0 - f_train - f_valid)]
    assignment = random_split(labels, fractions, seed)
    assert set(assignment.tolist()) <= {TRAIN, VALID, TEST}
    for value, total in ((0, negatives), (1, positives)):
        mine = assignment[labels == value]
        n_train = int(round(f_train * total))
        n_valid = min(int(round(f_valid * total)), total - n_train)
        assert np.count_nonzero(mine == TRAIN) == n_train
        assert np.count_nonzero(mine == VALID) == n_valid
        assert np.count_nonzero(mine == TEST) == total - n_train - n_valid


# --------------------------------------------------------------------------- chromosome_split

def test_chromosome_split_holds_out_whole_chromosomes():
    chroms = np.array(["chr1", "chr2", "chr3", "chr2", "chr1", "chr4"])
    assignment = chromosome_split(chroms, valid=["chr2"], test=["chr3", "chr4"])
    assert assignment.tolist() == [TRAIN, VALID, TEST, VALID, TRAIN, TEST]


def test_chromosome_split_rejects_a_chromosome_in_valid_and_test():
    chroms = np.array(["chr1", "chr2"])
    with pytest.raises(InputError, match=r"chr2.*both valid and test"):
        chromosome_split(chroms, valid=["chr2"], test=["chr2"])


# --------------------------------------------------------------------------- crosses_block

@pytest.mark.parametrize("start, lo, hi, block, expected", [
    (0, 0, 100, 100, False),    # [0,100) fills block 0
    (1, 0, 100, 100, True),     # [1,101) touches block 1 by its last base
    (100, 0, 100, 100, False),  # [100,200) fills block 1
    (99, 0, 1, 100, False),     # a single base
    (99, 0, 2, 100, True),
    (120, -20, 80, 100, False),  # flanked span [100,200)
    (119, -20, 80, 100, True),   # flanked span [99,199) starts in block 0
    (121, -20, 80, 100, True),   # flanked span [101,201) ends in block 2
])
def test_crosses_block_edges(start, lo, hi, block, expected):
    assert crosses_block(arr([start]), lo, hi, block).tolist() == [expected]


@settings(max_examples=100, deadline=None)
@given(start=st.integers(0, 500), lo=st.integers(-20, 0), width=st.integers(1, 60),
       block=st.integers(1, 120))
def test_crosses_block_equals_brute_force(start, lo, width, block):
    hi = lo + width
    blocks = {pos // block for pos in range(start + lo, start + hi)}
    assert crosses_block(arr([start]), lo, hi, block).tolist() == [len(blocks) > 1]


# --------------------------------------------------------------------------- block_ids / block_split

def test_block_ids_one_id_per_chromosome_and_block():
    chroms = np.array(["chr1", "chr1", "chr1", "chr2", "chr2", "chr1"])
    starts = arr([0, 99, 100, 0, 250, 350])
    ids = block_ids(chroms, starts, 100)
    # pairs: (chr1,0) (chr1,0) (chr1,1) (chr2,0) (chr2,2) (chr1,3)
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3], ids[4], ids[5]}) == 5
    assert sorted(set(ids.tolist())) == list(range(5))


def test_block_split_keeps_each_block_together_and_cuts_blocks_by_fraction():
    # 10 blocks of 100 bp on two chromosomes, 4 windows per block
    chroms = np.array(["chrA"] * 24 + ["chrB"] * 16)
    starts = np.concatenate([np.arange(0, 600, 25), np.arange(0, 400, 25)]).astype(np.int64)
    assignment = block_split(chroms, starts, 100, [0.6, 0.2, 0.2], seed=4)
    per_block = {}
    for c, s, a in zip(chroms.tolist(), starts.tolist(), assignment.tolist()):
        per_block.setdefault((c, s // 100), set()).add(a)
    assert len(per_block) == 10
    assert all(len(v) == 1 for v in per_block.values())
    splits_of_blocks = [next(iter(v)) for v in per_block.values()]
    assert sorted(splits_of_blocks) == [TRAIN] * 6 + [VALID] * 2 + [TEST] * 2


def test_block_split_is_reproducible_and_seed_dependent():
    chroms = np.array(["chr1"] * 200)
    starts = np.arange(0, 20000, 100, dtype=np.int64)
    a = block_split(chroms, starts, 1000, [0.5, 0.25, 0.25], seed=1)
    b = block_split(chroms, starts, 1000, [0.5, 0.25, 0.25], seed=1)
    c = block_split(chroms, starts, 1000, [0.5, 0.25, 0.25], seed=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_block_number_on_two_chromosomes_can_go_to_different_splits():
    # 20 blocks on chr1 and 20 on chr2: the split of (chr1, k) and (chr2, k) are independent,
    # so over 20 block numbers at least one pair differs
    chroms = np.array(["chr1"] * 20 + ["chr2"] * 20)
    starts = np.tile(np.arange(0, 2000, 100, dtype=np.int64), 2)
    assignment = block_split(chroms, starts, 100, [0.5, 0.25, 0.25], seed=0)
    assert not np.array_equal(assignment[:20], assignment[20:])


# --------------------------------------------------------------------------- rows_for_chrom

def test_rows_for_chrom_selects_one_chromosome_and_split_in_table_order():
    table = {"chroms": np.array(["chr1", "chr2"]),
             "chrom_index": np.array([0, 0, 0, 1, 1, 1], dtype=np.int32),
             "split": np.array([TRAIN, TEST, TRAIN, TRAIN, VALID, -1], dtype=np.int8)}
    assert rows_for_chrom(table, "chr1", TRAIN).tolist() == [0, 2]
    assert rows_for_chrom(table, "chr1", TEST).tolist() == [1]
    assert rows_for_chrom(table, "chr1", VALID).tolist() == []
    assert rows_for_chrom(table, "chr2", TRAIN).tolist() == [3]
    assert rows_for_chrom(table, "chr2", VALID).tolist() == [4]
    # a row dropped at a block boundary (-1) belongs to no split
    assert 5 not in np.concatenate([rows_for_chrom(table, "chr2", s) for s in (TRAIN, VALID, TEST)])


# --------------------------------------------------------------------------- the split step

def test_random_split_is_stratified_and_reproducible(pieces, tmp_path):
    build(pieces, tmp_path / "a")
    build(pieces, tmp_path / "b")
    build(pieces, tmp_path / "c", split=SplitSpec(fractions=(0.6, 0.2, 0.2), seed=4))
    first, again, other = (load_dataset(tmp_path / n / "dataset") for n in ("a", "b", "c"))
    for name in ("train", "valid", "test"):
        assert getattr(first, name)["ids"].tolist() == getattr(again, name)["ids"].tolist()
        assert np.array_equal(getattr(first, name)["X"], getattr(again, name)["X"])
        # another seed: same class counts per split (stratified)
        assert getattr(first, name)["y"].sum() == getattr(other, name)["y"].sum()
        assert len(getattr(first, name)["y"]) == len(getattr(other, name)["y"])
    assert any(getattr(first, n)["ids"].tolist() != getattr(other, n)["ids"].tolist()
               for n in ("train", "valid", "test"))
    labels = np.concatenate([np.load(p)["labels"] for p in pieces["labels"]])
    positives, total = int(labels.sum()), len(labels)
    assert len(first.train["y"]) == round(0.6 * positives) + round(0.6 * (total - positives))


def test_chromosome_split(pieces, tmp_path):
    manifest = build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",),
                                                       test=("chr3",)))
    data = load_dataset(tmp_path / "dataset")
    assert {parse_id(str(i))[0] for i in data.train["ids"]} == {"chr1"}
    assert {parse_id(str(i))[0] for i in data.valid["ids"]} == {"chr2"}
    assert {parse_id(str(i))[0] for i in data.test["ids"]} == {"chr3"}
    assert manifest["splits"]["valid"]["windows"] == len(expected_kept("chr2"))
    assert manifest["split"]["valid"] == ["chr2"]
    # each split comes from one chromosome's file: X equals it exactly
    for name, chrom in (("train", "chr1"), ("valid", "chr2"), ("test", "chr3")):
        piece = onehot_path(tmp_path / "onehot" / chrom, name)
        assert np.array_equal(getattr(data, name)["X"], np.load(piece))
        # documented: a split made of one chromosome's file is hard-linked, not copied
        assert (tmp_path / "dataset" / name / "X.npy").stat().st_ino == piece.stat().st_ino


def test_chromosome_split_with_an_unknown_chromosome(pieces, tmp_path):
    with pytest.raises(InputError, match=r"chr9.*not among"):
        build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",),
                                                test=("chr9",)))
    assert not (tmp_path / "dataset").exists()
    assert not (tmp_path / "split.npz").exists()


def test_block_split_drops_windows_whose_flanked_span_crosses_a_block(pieces, tmp_path):
    block = 200
    manifest = build(pieces, tmp_path, split=SplitSpec(method="blocks", fractions=(0.6, 0.2, 0.2),
                                                       seed=0, block_size=block))
    data = load_dataset(tmp_path / "dataset")
    split_of_block: dict[tuple[str, int], str] = {}
    seen = set()
    for name in ("train", "valid", "test"):
        for row, window_id in enumerate(getattr(data, name)["ids"]):
            chrom, start, end = parse_id(str(window_id))
            # the flanked span lies in one block
            assert (start - FLANK) // block == (end + FLANK - 1) // block
            key = (chrom, start // block)
            assert split_of_block.setdefault(key, name) == name  # one split per block
            seen.add((chrom, start))
            assert np.array_equal(getattr(data, name)["X"][row], expected_onehot(chrom, start))
    # brute force: kept windows whose span [start - FLANK, start + LENGTH + FLANK) stays in a block
    expected = {(c, s) for c in CHROMS for s in expected_kept(c)
                if (s - FLANK) // block == (s + LENGTH + FLANK - 1) // block}
    assert seen == expected
    crossing = {c: sum(1 for s in expected_kept(c) if (c, s) not in expected) for c in CHROMS}
    for chrom in CHROMS:
        assert manifest["chromosomes"][chrom]["dropped"]["block_boundary"] == crossing[chrom]
    assert manifest["totals"]["dropped"]["block_boundary"] == sum(crossing.values())
    assert manifest["totals"]["windows"] == len(expected)


def test_uniform_weights(pieces, tmp_path):
    manifest = build(pieces, tmp_path, weights="none")
    data = load_dataset(tmp_path / "dataset")
    assert manifest["split"]["weights"] == "none"
    for name in ("train", "valid", "test"):
        assert np.all(getattr(data, name)["w"] == 1.0)


def test_empty_split_is_an_error_and_leaves_no_output(pieces, tmp_path):
    with pytest.raises(InputError, match=r"split 'valid' is empty"):
        build(pieces, tmp_path, split=SplitSpec(fractions=(1.0, 0.0, 0.0)))
    assert list(tmp_path.iterdir()) == []


def test_unknown_split_method(pieces, tmp_path):
    with pytest.raises(InputError, match="split.method: 'stripes' is not one of"):
        build(pieces, tmp_path, split=SplitSpec(method="stripes"))


# --------------------------------------------------------------------------- checks in the library

@pytest.mark.parametrize("kwargs, message", [
    ({"fractions": (0.5, 0.1, 0.1)}, r"sum to 0.7, not 1"),
    ({"fractions": (0.8, 0.2)}, "must be three numbers"),
    ({"fractions": (1.2, -0.1, -0.1)}, "must be three numbers"),
    ({"method": "stripes"}, "split.method: 'stripes' is not one of random, chromosome, blocks"),
    ({"valid": ("chr2",), "test": ("chr2",)}, r"\['chr2'\] are in both valid and test"),
    ({"negative_fraction": 0.0}, r"negative_fraction: 0.0 must be in \(0, 1\]"),
    ({"block_size": 0}, "block_size: 0 must be at least 1"),
])
def test_split_spec_checks_itself(kwargs, message):
    with pytest.raises(InputError, match=message):
        SplitSpec(**kwargs)


def test_unknown_weights_mode_is_refused(pieces, tmp_path):
    with pytest.raises(InputError, match="weights: 'inverse' is not one of balanced, none"):
        build(pieces, tmp_path, weights="inverse")


def test_shared_base_pairs_counts_overlapping_spans_within_a_chromosome():
    chrom_index = arr([0, 0, 0, 1, 1])
    starts = arr([0, 100, 150, 120, 400])
    assert shared_base_pairs(chrom_index, starts, 100) == 1     # 100 and 150 overlap; 150 | chr2 120 do not count
    assert shared_base_pairs(chrom_index, starts, 101) == 2     # 0-101 now touches 100
    assert shared_base_pairs(chrom_index, starts, 50) == 0


@given(starts=st.lists(st.integers(0, 5000), min_size=1, max_size=40, unique=True),
       length=st.integers(1, 300), flank=st.integers(0, 200))
@settings(max_examples=200, deadline=None)
def test_leak_check_equals_brute_force_on_spans(starts, length, flank):
    starts = np.sort(arr(starts))
    spans = [(s - flank, s + length + flank) for s in starts.tolist()]
    overlapping = sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1])
    chrom_index = np.zeros(len(starts), dtype=np.int32)
    assert shared_base_pairs(chrom_index, starts, length + 2 * flank) == overlapping
    if overlapping:
        with pytest.raises(InputError, match="Use split.method: blocks"):
            check_no_leak(SplitSpec(), chrom_index, starts, length, flank)
    else:
        assert check_no_leak(SplitSpec(), chrom_index, starts, length, flank)["leak_free"]
    assert check_no_leak(SplitSpec(method="blocks"), chrom_index, starts, length, flank)["checked"]


def test_random_split_of_overlapping_windows_or_flanks_is_refused_and_writes_nothing(tmp_path):
    from tiny_genome import OVERLAPPING_STRIDE, build_pieces

    overlapping = build_pieces(tmp_path / "pieces", OVERLAPPING_STRIDE)
    with pytest.raises(InputError, match=r"pairs of neighbouring windows share bases .* Use split.method: blocks"):
        build(overlapping, tmp_path / "random")
    assert not (tmp_path / "random" / "split.npz").exists()
    manifest = build(overlapping, tmp_path / "blocks",
                     split=SplitSpec(method="blocks", fractions=(0.4, 0.3, 0.3), block_size=200, seed=1))
    assert manifest["split"]["leak_check"]["checked"] and manifest["split"]["leak_check"]["leak_free"]


def test_manifest_records_the_leak_check(pieces, tmp_path):
    manifest = build(pieces, tmp_path)
    check = manifest["split"]["leak_check"]
    assert check == {"checked": True, "method": "random", "row_span_bp": LENGTH + 2 * FLANK,
                     "neighbour_pairs_sharing_bases": 0, "leak_free": True}


# --------------------------------------------------------------------------- GC-matched negatives

from tfbinding.data.split import DROPPED, LabelledWindows, gc_bins, gc_match_negatives  # noqa: E402


def _windows(labels, gc) -> LabelledWindows:
    n = len(labels)
    return LabelledWindows(["c"], np.zeros(n, dtype=np.int32), np.arange(n, dtype=np.int64) * 100,
                           np.asarray(labels, dtype=np.uint8),
                           {"c": {"considered": n, "peaks": 1, "dropped": {}}},
                           np.asarray(gc, dtype=np.float32))


def test_gc_bins_by_hand():
    assert gc_bins(np.array([0.0, 0.049, 0.05, 0.42, 0.999, 1.0]), 0.05).tolist() == [0, 0, 1, 8, 19, 19]
    assert gc_bins(np.array([0.3, 0.7]), 0.5).tolist() == [0, 1]


def test_gc_matching_by_hand():
    # train: positives in bins 8 (x2) and 12 (x1); negatives 5 in bin 8, 4 in bin 3
    # test: one positive, three negatives, left whole
    labels = [1, 1, 1] + [0] * 9 + [1, 0, 0, 0]
    gc = [0.42, 0.43, 0.61] + [0.41] * 5 + [0.16] * 4 + [0.5, 0.1, 0.1, 0.1]
    assignment = np.array([TRAIN] * 12 + [TEST] * 4, dtype=np.int8)
    windows = _windows(labels, gc)
    info = gc_match_negatives(windows, assignment, SplitSpec(negatives="gc_matched"))
    kept = np.flatnonzero(assignment == TRAIN).tolist()
    assert kept[:3] == [0, 1, 2] and len(kept) == 5                 # positives + 2 of bin 8
    assert set(kept[3:]) <= {3, 4, 5, 6, 7}
    assert np.all(assignment[8:12] == DROPPED)                       # bin 3: no positive there
    assert np.all(assignment[12:] == TEST)
    train = info["by_split"]["train"]
    assert train["positives"][8] == 2 and train["positives"][12] == 1
    assert train["negatives"][8] == 5 and train["negatives"][3] == 4
    assert train["kept"][8] == 2 and train["kept"][12] == 0 and train["dropped"][3] == 4
    assert sum(train["dropped"]) == 7 and "test" not in info["by_split"]
    assert len(info["bin_edges"]) == 21 and info["bin_edges"][-1] == 1.0
    assert windows.per_chrom["c"]["dropped"]["gc_matching"] == 7
    # ratio 2 keeps 4 of bin 8; matching test too drops test negatives without positives
    again = np.array([TRAIN] * 12 + [TEST] * 4, dtype=np.int8)
    info = gc_match_negatives(_windows(labels, gc), again,
                              SplitSpec(negatives="gc_matched", gc_ratio=2, gc_match_test=True))
    assert info["by_split"]["train"]["kept"][8] == 4
    assert again[12] == TEST and np.all(again[13:] == DROPPED)
    # "all" changes nothing
    untouched = np.array([TRAIN] * 12 + [TEST] * 4, dtype=np.int8)
    assert gc_match_negatives(_windows(labels, gc), untouched, SplitSpec()) is None
    assert np.all(untouched >= 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.integers(0, 2)), min_size=1, max_size=80),
       st.sampled_from([0.05, 0.1, 0.25, 1.0]), st.sampled_from([0.5, 1.0, 3.0]), st.integers(0, 5))
def test_gc_matching_property(rows, width, ratio, seed):
    labels = [int(r[0]) for r in rows]
    gc = [r[1] for r in rows]
    assignment = np.array([r[2] for r in rows], dtype=np.int8)
    before = assignment.copy()
    spec = SplitSpec(negatives="gc_matched", gc_bin_width=width, gc_ratio=ratio, seed=seed)
    info = gc_match_negatives(_windows(labels, gc), assignment, spec)
    labels, bins = np.array(labels), gc_bins(np.array(gc, dtype=np.float32), width)
    assert np.all(assignment[labels == 1] == before[labels == 1])    # positives all kept
    assert np.all(assignment[before == TEST] == TEST)                 # test whole
    for value, name in ((TRAIN, "train"), (VALID, "valid")):
        for b in range(len(info["bin_edges"]) - 1):
            positives = int(np.sum((before == value) & (labels == 1) & (bins == b)))
            available = int(np.sum((before == value) & (labels == 0) & (bins == b)))
            kept = int(np.sum((assignment == value) & (labels == 0) & (bins == b)))
            assert kept == min(int(np.round(ratio * positives)), available)
            assert info["by_split"][name]["kept"][b] == kept
            assert info["by_split"][name]["dropped"][b] == available - kept


@pytest.mark.parametrize("kwargs, match", [
    ({"negatives": "some"}, "split.negatives"),
    ({"gc_bin_width": 0}, "gc_bin_width"),
    ({"gc_bin_width": 1.5}, "gc_bin_width"),
    ({"gc_ratio": 0}, "gc_ratio"),
    ({"gc_ratio": float("nan")}, "gc_ratio"),
    ({"negatives": "gc_matched", "negative_fraction": 0.5}, "negative_fraction"),
    ({"gc_match_test": True}, "gc_match_test"),
])
def test_split_spec_rejects_bad_gc_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        SplitSpec(**kwargs)


def test_gc_matched_build_weights_follow_the_kept_windows(pieces, tmp_path):
    spec = SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",), negatives="gc_matched",
                     gc_bin_width=0.5)
    build(pieces, tmp_path / "gc", split=spec)
    data = load_dataset(tmp_path / "gc" / "dataset")
    matching = data.manifest["split"]["gc_matching"]
    assert matching["bin_edges"] == [0.0, 0.5, 1.0]
    assert data.manifest["totals"]["dropped"]["gc_matching"] == sum(
        sum(entry["dropped"]) for entry in matching["by_split"].values())
    for name in ("train", "valid"):
        y, w = np.asarray(getattr(data, name)["y"]), np.asarray(getattr(data, name)["w"])
        entry = matching["by_split"][name]
        assert int((y == 0).sum()) == sum(entry["kept"])
        if y.sum() and (y == 0).sum():                     # balanced over the kept windows
            assert np.isclose(w[y == 1].sum(), w[y == 0].sum())
