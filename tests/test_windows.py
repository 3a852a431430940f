"""Tests for tfbinding.data.windows: tiling and the past-end / blacklist / N-fraction filters."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.data.windows import (
    BLACKLIST,
    N_FRACTION,
    PAST_END,
    n_fraction,
    select_windows,
    tile,
    unknown_runs,
)


def seq(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def arr(values):
    return np.array(values, dtype=np.int64)


# --------------------------------------------------------------------------- tile

def test_tile_starts_every_stride_below_the_chromosome_size():
    assert tile(10, 4, 3).tolist() == [0, 3, 6, 9]
    assert tile(10, 4, 5).tolist() == [0, 5]
    assert tile(10, 4, 3, offset=2).tolist() == [2, 5, 8]
    assert tile(10, 4, 3).dtype == np.int64


def test_tile_offset_at_or_past_end_gives_nothing():
    assert tile(10, 4, 3, offset=10).tolist() == []
    assert tile(10, 4, 3, offset=11).tolist() == []
    assert tile(10, 4, 3, offset=9).tolist() == [9]


# --------------------------------------------------------------------------- n_fraction

def test_n_fraction_counts_every_non_acgt_and_ignores_case():
    s = seq("ACGTNNacgtRY")
    assert n_fraction(s, arr([0, 2, 4, 6, 8]), 4).tolist() == [0.0, 0.5, 0.5, 0.0, 0.5]


def test_n_fraction_of_windows_at_both_ends_of_the_sequence():
    s = seq("NACGTACGTN")
    assert n_fraction(s, arr([0, 6, 1]), 4).tolist() == [0.25, 0.25, 0.0]
    assert n_fraction(s, arr([0]), 10).tolist() == [0.2]


# --------------------------------------------------------------------------- unknown_runs

def test_unknown_runs_are_maximal_half_open_runs_of_non_acgt():
    starts, ends = unknown_runs(seq("NNACgtRYnAN"))
    # NN at [0,2), RYn at [6,9), N at [10,11); lowercase acgt is known
    assert starts.tolist() == [0, 6, 10]
    assert ends.tolist() == [2, 9, 11]


@pytest.mark.parametrize("text, expected", [
    ("", ([], [])),
    ("ACGT", ([], [])),
    ("NNNN", ([0], [4])),
    ("N", ([0], [1])),
    ("A", ([], [])),
])
def test_unknown_runs_edge_cases(text, expected):
    starts, ends = unknown_runs(seq(text))
    assert (starts.tolist(), ends.tolist()) == expected


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ACGTacgtNnRY")), max_size=40),
       length=st.integers(1, 10))
def test_unknown_runs_and_n_fraction_equal_brute_force(text, length):
    s = seq(text)
    starts, ends = unknown_runs(s)
    unknown = [c not in "ACGTacgt" for c in text]
    covered = [False] * len(text)
    for a, b in zip(starts.tolist(), ends.tolist()):
        assert a < b
        assert a == 0 or not unknown[a - 1]          # maximal on the left
        assert b == len(text) or not unknown[b]      # maximal on the right
        covered[a:b] = [True] * (b - a)
    assert covered == unknown
    window_starts = arr(range(0, max(0, len(text) - length + 1)))
    expected = [sum(unknown[x:x + length]) / length for x in window_starts.tolist()]
    assert n_fraction(s, window_starts, length).tolist() == pytest.approx(expected)


# --------------------------------------------------------------------------- select_windows

def test_window_ending_exactly_at_chromosome_end_is_kept_one_past_is_dropped():
    s = seq("ACGTACGTAC")  # 10 bp
    sel = select_windows(s, arr([5, 6, 7]), 4, max_n_fraction=0.0)
    assert sel.starts.tolist() == [5, 6]  # [6, 10) ends at the end; [7, 11) runs past it
    assert sel.dropped == {PAST_END: 1, BLACKLIST: 0, N_FRACTION: 0}
    assert sel.considered == 3


def test_blacklist_edges_are_half_open():
    s = seq("A" * 40)
    blacklist = (arr([10]), arr([20]))  # bases 10..19
    starts = arr([0, 1, 6, 19, 20, 25])
    sel = select_windows(s, starts, 10, max_n_fraction=0.0, blacklist=blacklist)
    # [0,10) touches the blacklist without sharing a base: kept
    # [1,11) shares base 10; [6,16) inside; [19,29) shares base 19: dropped
    # [20,30) starts at the blacklist's end: kept
    assert sel.starts.tolist() == [0, 20, 25]
    assert sel.dropped[BLACKLIST] == 3


def test_empty_blacklist_drops_nothing():
    s = seq("ACGT" * 5)
    sel = select_windows(s, arr([0, 4, 8]), 4, 0.0, blacklist=(arr([]), arr([])))
    assert sel.starts.tolist() == [0, 4, 8]
    assert sel.dropped == {PAST_END: 0, BLACKLIST: 0, N_FRACTION: 0}


def test_n_fraction_threshold_is_inclusive():
    s = seq("NNAA" + "NNNA" + "acgt" + "ryAC")
    sel = select_windows(s, arr([0, 4, 8, 12]), 4, max_n_fraction=0.5)
    # 0.5 is kept (at most max_n_fraction), 0.75 dropped; lowercase acgt is no N
    assert sel.starts.tolist() == [0, 8, 12]
    assert sel.dropped[N_FRACTION] == 1


def test_max_n_fraction_zero_drops_any_n():
    s = seq("ACGTACGNACGT")
    sel = select_windows(s, arr([0, 4, 8]), 4, max_n_fraction=0.0)
    assert sel.starts.tolist() == [0, 8]


def test_each_window_is_dropped_for_the_first_reason_only():
    # 12 bp, all N; blacklist covers everything
    s = seq("N" * 12)
    blacklist = (arr([0]), arr([12]))
    sel = select_windows(s, arr([0, 4, 10]), 4, max_n_fraction=0.0, blacklist=blacklist)
    # [10,14) past end (also blacklisted and N): counted as past end only
    # [0,4), [4,8): blacklisted (also all N): counted as blacklist only
    assert sel.dropped == {PAST_END: 1, BLACKLIST: 2, N_FRACTION: 0}
    assert sel.starts.tolist() == []
    assert sel.considered == 3


def test_duplicate_and_unsorted_starts_are_considered_once():
    s = seq("ACGT" * 4)
    sel = select_windows(s, arr([8, 0, 8, 4]), 4, 0.0)
    assert sel.starts.tolist() == [0, 4, 8]
    assert sel.considered == 3


# --------------------------------------------------------------------------- properties

@st.composite
def chromosome_case(draw):
    size = draw(st.integers(1, 80))
    text = draw(st.text(alphabet=st.sampled_from(list("ACGTNacgtn")), min_size=size, max_size=size))
    length = draw(st.integers(1, 30))
    stride = draw(st.integers(1, 20))
    offset = draw(st.integers(0, 90))
    max_n = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]))
    n_black = draw(st.integers(0, min(3, (size + 1) // 2)))
    black = sorted(draw(st.lists(st.integers(0, size), min_size=2 * n_black, max_size=2 * n_black,
                                 unique=True)))
    return text, length, stride, offset, max_n, black


@settings(max_examples=100, deadline=None)
@given(case=chromosome_case())
def test_tile_and_select_keep_inside_and_account_for_every_window(case):
    text, length, stride, offset, max_n, black = case
    s = seq(text)
    size = len(s)
    starts = tile(size, length, stride, offset)
    assert all(0 <= x < size for x in starts.tolist())
    assert starts.tolist() == list(range(offset, size, stride))
    blacklist = (arr(black[0::2]), arr(black[1::2]))
    sel = select_windows(s, starts, length, max_n, blacklist)
    kept = sel.starts.tolist()
    assert sel.considered == len(starts)
    assert len(kept) + sum(sel.dropped.values()) == sel.considered
    assert set(kept) <= set(starts.tolist())
    banned = np.zeros(size, dtype=bool)
    for b0, b1 in zip(blacklist[0].tolist(), blacklist[1].tolist()):
        banned[b0:b1] = True
    # brute-force expectation of what is kept
    expected = []
    for x in starts.tolist():
        if x + length > size:
            continue
        if banned[x:x + length].any():
            continue
        window = text[x:x + length]
        if sum(c not in "ACGTacgt" for c in window) / length > max_n:
            continue
        expected.append(x)
    assert kept == expected
    for x in kept:
        assert 0 <= x and x + length <= size


# --- fast_unknown_runs / fast_select_windows: equal to tiling's, on any sequence -----------

@pytest.mark.parametrize("text", ["", "ACGT", "NNNN", "NACGTN", "acgtnnRYacgt-.NN", "N" * 5 + "A" * 7 + "n"])
def test_fast_unknown_runs_equal_tiling(text):
    from tfbinding.data.tiling import unknown_runs
    from tfbinding.data.windows import fast_unknown_runs

    sequence = np.frombuffer(text.encode(), np.uint8)
    for fast, slow in zip(fast_unknown_runs(sequence), unknown_runs(sequence)):
        assert fast.dtype == slow.dtype and fast.tolist() == slow.tolist()


def test_fast_unknown_runs_random_and_past_the_loop_limit(monkeypatch):
    from tfbinding.data import windows as step
    from tfbinding.data.tiling import select_windows, unknown_runs

    rng = np.random.default_rng(1)
    sequence = np.frombuffer(b"ACGTNacgtnRY", np.uint8)[rng.integers(0, 12, 5_000)]
    expected = unknown_runs(sequence)
    for limit in (10**9, 3):   # the find() loop, then numpy past a few runs
        monkeypatch.setattr(step, "MAX_LOOPED_RUNS", limit)
        got = step.fast_unknown_runs(sequence)
        assert got[0].tolist() == expected[0].tolist() and got[1].tolist() == expected[1].tolist()
        starts = rng.integers(0, 5_050, 400)
        blacklist = (np.array([100, 900]), np.array([250, 1_000]))
        fast = step.fast_select_windows(sequence, starts, 50, 0.3, blacklist)
        slow = select_windows(sequence, starts, 50, 0.3, blacklist)
        assert fast.starts.tolist() == slow.starts.tolist()
        assert fast.dropped == slow.dropped and fast.considered == slow.considered


def test_fast_unknown_runs_names_a_bad_byte_as_tiling_does():
    from tfbinding.data.windows import fast_unknown_runs
    from tfbinding.errors import InputError

    with pytest.raises(InputError, match=r"chrX: position 3 \(0-based\) holds 'Z'"):
        fast_unknown_runs(np.frombuffer(b"ACGZA", np.uint8), "chrX")


def test_record_classes_equal_the_sequences_and_refuse_a_broken_layout(tmp_path):
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.windows import _CLASSES, record_classes
    from tfbinding.io.fasta import Genome

    raw = tmp_path / "raw.fa"
    raw.write_text(">a\nACGTN\nnnacg\nRY\n>b\nACGTA\n>c\nAC-T.\nA\n")
    prepare_fasta(raw, tmp_path / "g.fa")
    genome = Genome(tmp_path / "g.fa")
    for chrom in ("a", "b", "c"):
        assert record_classes(genome, chrom) == genome.sequence(chrom).tobytes().translate(_CLASSES)
    (tmp_path / "g.fa").write_text(">a\nACGTN\nnnacgA\nY\n>b\nACGTA\n>c\nAC-T.\nA\n")  # a line too long
    assert record_classes(Genome(tmp_path / "g.fa"), "a") is None
