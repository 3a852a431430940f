"""Tests for tfbinding.data.labels: overlap thresholds, summit mode, ambiguous windows."""
from __future__ import annotations

import numpy as np
import pybedtools
import pytest

from tfbinding.data.labels import AMBIGUOUS, NEGATIVE, POSITIVE, LabelRule, label_windows
from tfbinding.errors import InputError
from tfbinding.io.bed import merge_intervals


def arr(values):
    return np.array(values, dtype=np.int64)


PEAKS = (arr([100]), arr([200]))  # one merged peak [100, 200)
SUMMITS = arr([150])


# --------------------------------------------------------------------------- threshold_bp

@pytest.mark.parametrize("rule, length, expected", [
    (LabelRule(), 100, 1),
    (LabelRule(min_overlap_bp=0), 100, 1),             # never below 1 bp
    (LabelRule(min_overlap_bp=30), 100, 30),
    (LabelRule(min_overlap_fraction=0.5), 100, 50),   # exactly half: 50, not 51
    (LabelRule(min_overlap_fraction=0.5), 101, 51),   # 50.5 rounds up
    (LabelRule(min_overlap_fraction=0.3), 10, 3),     # 0.3*10 = 3.0000000000000004 -> 3
    (LabelRule(min_overlap_bp=60, min_overlap_fraction=0.5), 100, 60),  # stricter wins
    (LabelRule(min_overlap_bp=20, min_overlap_fraction=0.5), 100, 50),
])
def test_threshold_bp(rule, length, expected):
    assert rule.threshold_bp(length) == expected


# --------------------------------------------------------------------------- overlap mode

def test_default_rule_one_base_is_enough_and_edges_are_half_open():
    starts = arr([199, 200, 0, 1])
    labels, overlap = label_windows(starts, 100, PEAKS, SUMMITS)
    # [199,299) shares base 199; [200,300) and [0,100) only touch the peak; [1,101) shares 100
    assert overlap.tolist() == [1, 0, 0, 1]
    assert labels.tolist() == [POSITIVE, NEGATIVE, NEGATIVE, POSITIVE]
    assert labels.dtype == np.int8
    assert overlap.dtype == np.int64


def test_min_overlap_bp():
    starts = arr([150, 151, 170])  # overlaps 50, 49, 30
    labels, overlap = label_windows(starts, 100, PEAKS, SUMMITS, LabelRule(min_overlap_bp=50))
    assert overlap.tolist() == [50, 49, 30]
    assert labels.tolist() == [1, 0, 0]


def test_min_overlap_fraction_of_the_window():
    starts = arr([125, 126, 100])  # windows of 100: overlaps 75, 74, 100
    labels, _ = label_windows(starts, 100, PEAKS, SUMMITS, LabelRule(min_overlap_fraction=0.75))
    assert labels.tolist() == [1, 0, 1]


def test_overlap_counts_the_union_of_several_peaks():
    merged = (arr([0, 30]), arr([10, 40]))  # 10 + 10 bases
    labels, overlap = label_windows(arr([0, 5]), 40, merged, arr([5, 35]),
                                    LabelRule(min_overlap_bp=20))
    assert overlap.tolist() == [20, 15]
    assert labels.tolist() == [1, 0]


def test_no_peaks_all_negative():
    labels, overlap = label_windows(arr([0, 50]), 50, (arr([]), arr([])), arr([]))
    assert labels.tolist() == [0, 0]
    assert overlap.tolist() == [0, 0]


# --------------------------------------------------------------------------- summit mode

def test_summit_mode_positive_only_when_summit_inside_half_open():
    rule = LabelRule(mode="summit")
    starts = arr([50, 51, 150, 151, 0])
    labels, overlap = label_windows(starts, 100, PEAKS, SUMMITS, rule)
    # [50,150) excludes 150; [51,151) includes it; [150,250) includes it; [151,251) does not
    assert labels.tolist() == [0, 1, 1, 0, 0]
    # the overlap is still reported
    assert overlap.tolist() == [50, 51, 50, 49, 0]


def test_summit_mode_with_exclude_ambiguous():
    rule = LabelRule(mode="summit", exclude_ambiguous=True)
    labels, _ = label_windows(arr([50, 51, 300]), 100, PEAKS, SUMMITS, rule)
    # [50,150) touches the peak but holds no summit: ambiguous; [300,400) far away: negative
    assert labels.tolist() == [AMBIGUOUS, POSITIVE, NEGATIVE]


# --------------------------------------------------------------------------- exclude_ambiguous

def test_exclude_ambiguous_marks_windows_below_threshold_that_touch_a_peak():
    rule = LabelRule(min_overlap_bp=50, exclude_ambiguous=True)
    starts = arr([150, 151, 199, 200, 0])  # overlaps 50, 49, 1, 0, 0
    labels, _ = label_windows(starts, 100, PEAKS, SUMMITS, rule)
    assert labels.tolist() == [POSITIVE, AMBIGUOUS, AMBIGUOUS, NEGATIVE, NEGATIVE]


def test_without_exclude_ambiguous_below_threshold_is_negative():
    rule = LabelRule(min_overlap_bp=50)
    labels, _ = label_windows(arr([151, 199]), 100, PEAKS, SUMMITS, rule)
    assert labels.tolist() == [NEGATIVE, NEGATIVE]


def test_exclude_ambiguous_with_default_threshold_has_no_ambiguous_window():
    rule = LabelRule(exclude_ambiguous=True)
    labels, _ = label_windows(arr([0, 1, 199, 200]), 100, PEAKS, SUMMITS, rule)
    assert labels.tolist() == [0, 1, 1, 0]


# --------------------------------------------------------------------------- bedtools cross-check

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlap_and_labels_agree_with_bedtools_intersect(seed):
    rng = np.random.default_rng(seed)
    size, length = 2000, 50
    peak_starts = rng.integers(0, size - 80, size=25)
    peak_ends = peak_starts + rng.integers(1, 80, size=25)
    starts = np.arange(0, size - length + 1, 17, dtype=np.int64)
    # merge first: merge_intervals cleans up pybedtools' temporary files when it is done
    merged = merge_intervals(peak_starts.astype(np.int64), peak_ends.astype(np.int64), "chrZ")
    summits = np.sort((peak_starts + peak_ends) // 2)
    rule = LabelRule(min_overlap_bp=10)
    labels, overlap = label_windows(starts, length, merged, summits, rule)

    windows_bed = pybedtools.BedTool(
        "".join(f"chrZ\t{s}\t{s + length}\n" for s in starts.tolist()), from_string=True)
    # bedtools merges the raw peaks itself; intersect -wo reports bases of each overlap
    peaks_bed = pybedtools.BedTool(
        "".join(f"chrZ\t{s}\t{e}\n" for s, e in zip(peak_starts.tolist(), peak_ends.tolist())),
        from_string=True).sort().merge()
    try:
        expected = {}
        for feature in windows_bed.intersect(peaks_bed, wo=True):
            key = int(feature.fields[1])
            expected[key] = expected.get(key, 0) + int(feature.fields[-1])
        # and the windows that overlap any raw peak at all, via -u
        touched = {int(f.fields[1]) for f in windows_bed.intersect(
            pybedtools.BedTool("".join(f"chrZ\t{s}\t{e}\n" for s, e in
                                       zip(peak_starts.tolist(), peak_ends.tolist())),
                               from_string=True), u=True)}
    finally:
        pybedtools.cleanup()
    bedtools_overlap = [expected.get(s, 0) for s in starts.tolist()]
    assert overlap.tolist() == bedtools_overlap
    assert sum(bedtools_overlap) > 0  # the case is not trivial
    assert labels.tolist() == [int(bp >= 10) for bp in bedtools_overlap]
    assert {s for s, bp in zip(starts.tolist(), overlap.tolist()) if bp > 0} == touched


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "center"}, "labels.mode: 'center' is not one of overlap, summit"),
    ({"min_overlap_bp": -1}, "min_overlap_bp: -1 must not be negative"),
    ({"min_overlap_fraction": 2.0}, r"min_overlap_fraction: 2.0 must be in \[0, 1\]"),
])
def test_label_rule_checks_itself(kwargs, message):
    with pytest.raises(InputError, match=message):
        LabelRule(**kwargs)
