"""Tests for tfbinding.splits: stratified random, chromosome and block splits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.errors import InputError
from tfbinding.splits import (TEST, TRAIN, VALID, block_ids, block_split, chromosome_split,
                              crosses_block, random_split, rows_for_chrom)


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
