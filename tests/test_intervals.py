"""Tests for tfbinding.intervals: overlap of windows with merged intervals, points in windows."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfbinding.intervals import covered_before, overlap_bp, points_inside
from tfbinding.io.bed import merge_intervals

I64 = np.int64


def arr(values):
    return np.array(values, dtype=I64)


# --------------------------------------------------------------------------- brute force helpers

def coverage_mask(starts, ends, size):
    """Per-base coverage of the union of [starts, ends) on [0, size)."""
    mask = np.zeros(size, dtype=bool)
    for s, e in zip(starts, ends):
        mask[s:e] = True
    return mask


def runs_of(mask):
    """Merge by brute force: maximal runs of covered bases as (starts, ends)."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return change[0::2].astype(I64), change[1::2].astype(I64)


def brute_overlap(win_starts, win_ends, mask):
    return np.array([int(mask[s:e].sum()) for s, e in zip(win_starts, win_ends)], dtype=I64)


# --------------------------------------------------------------------------- hand-made cases

class TestOverlapEdges:
    """A peak [100, 200), 0-based half-open."""

    peaks = (arr([100]), arr([200]))

    @pytest.mark.parametrize("window, expected", [
        ((199, 300), 1),    # last base of the peak is 199
        ((200, 301), 0),    # starts where the peak ends: no shared base
        ((0, 100), 0),      # ends where the peak starts: no shared base
        ((0, 101), 1),      # shares base 100
        ((100, 200), 100),  # the peak itself
        ((50, 250), 100),   # contains the peak
        ((120, 130), 10),   # inside the peak
        ((99, 101), 1),
        ((300, 400), 0),
    ])
    def test_single_peak(self, window, expected):
        got = overlap_bp(arr([window[0]]), arr([window[1]]), *self.peaks)
        assert got.tolist() == [expected]

    def test_vectorised_matches_one_by_one(self):
        ws = arr([0, 99, 150, 199, 200])
        we = ws + 101
        got = overlap_bp(ws, we, *self.peaks)
        assert got.tolist() == [1, 100, 50, 1, 0]


def test_overlap_with_several_disjoint_intervals():
    starts, ends = arr([10, 30, 50]), arr([20, 40, 51])
    # window [15, 55) covers 5 of the first, all 10 of the second, 1 of the third
    assert overlap_bp(arr([15]), arr([55]), starts, ends).tolist() == [16]
    # window between intervals
    assert overlap_bp(arr([20]), arr([30]), starts, ends).tolist() == [0]
    # window before everything and after everything
    assert overlap_bp(arr([0, 51]), arr([10, 100]), starts, ends).tolist() == [0, 0]


def test_overlap_with_no_intervals_is_zero():
    got = overlap_bp(arr([0, 5]), arr([10, 20]), arr([]), arr([]))
    assert got.tolist() == [0, 0]
    assert got.dtype == I64


def test_covered_before_counts_bases_left_of_each_position():
    starts, ends = arr([2, 6]), arr([4, 9])  # bases 2,3 and 6,7,8
    positions = arr(range(0, 12))
    expected = [int(coverage_mask(starts, ends, 12)[:x].sum()) for x in range(12)]
    assert covered_before(positions, starts, ends).tolist() == expected
    assert expected == [0, 0, 0, 1, 2, 2, 2, 3, 4, 5, 5, 5]


def test_points_inside_half_open():
    points = arr([100, 150, 199, 200])
    ws = arr([100, 0, 200, 101, 199])
    we = arr([200, 100, 300, 199, 200])
    # [100,200): 100,150,199 ; [0,100): none ; [200,300): 200 ; [101,199): 150 ; [199,200): 199
    assert points_inside(ws, we, points).tolist() == [3, 0, 1, 1, 1]


def test_points_inside_counts_repeated_points():
    points = arr([5, 5, 5, 9])
    assert points_inside(arr([0, 5, 6]), arr([5, 6, 10]), points).tolist() == [0, 3, 1]


# --------------------------------------------------------------------------- properties

SIZE = 60

interval = st.tuples(st.integers(0, SIZE - 1), st.integers(1, 15)).map(
    lambda t: (t[0], min(SIZE, t[0] + t[1])))
windows_strategy = st.lists(
    st.tuples(st.integers(0, SIZE), st.integers(0, SIZE)).map(lambda t: (min(t), max(t))),
    min_size=1, max_size=15)


@settings(max_examples=100, deadline=None)
@given(intervals=st.lists(interval, max_size=10), windows=windows_strategy)
def test_overlap_bp_equals_brute_force(intervals, windows):
    starts = arr([s for s, _ in intervals])
    ends = arr([e for _, e in intervals])
    mask = coverage_mask(starts, ends, SIZE)
    m_starts, m_ends = runs_of(mask)
    ws, we = arr([w[0] for w in windows]), arr([w[1] for w in windows])
    assert overlap_bp(ws, we, m_starts, m_ends).tolist() == brute_overlap(ws, we, mask).tolist()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(intervals=st.lists(interval, max_size=8), windows=windows_strategy)
def test_overlap_bp_with_bedtools_merge_equals_brute_force(intervals, windows):
    starts = arr([s for s, _ in intervals])
    ends = arr([e for _, e in intervals])
    m_starts, m_ends = merge_intervals(starts, ends, "chrT")
    mask = coverage_mask(starts, ends, SIZE)
    # bedtools merge gives the same disjoint runs as the per-base union (touching ones joined)
    b_starts, b_ends = runs_of(mask)
    assert m_starts.tolist() == b_starts.tolist()
    assert m_ends.tolist() == b_ends.tolist()
    ws, we = arr([w[0] for w in windows]), arr([w[1] for w in windows])
    assert overlap_bp(ws, we, m_starts, m_ends).tolist() == brute_overlap(ws, we, mask).tolist()


@settings(max_examples=100, deadline=None)
@given(points=st.lists(st.integers(0, SIZE), max_size=20), windows=windows_strategy)
def test_points_inside_equals_brute_force(points, windows):
    sorted_points = np.sort(arr(points))
    ws, we = arr([w[0] for w in windows]), arr([w[1] for w in windows])
    expected = [sum(1 for p in points if s <= p < e) for s, e in windows]
    assert points_inside(ws, we, sorted_points).tolist() == expected
