"""The label rule, pure numpy: how a window's overlap with peaks makes it positive.

Shared by the labels step and genome-wide prediction (its held-out metrics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfbinding.config import LABEL_MODES, check_choice
from tfbinding.errors import InputError
from tfbinding.intervals import overlap_bp, points_inside

POSITIVE, NEGATIVE, AMBIGUOUS = 1, 0, -1
AMBIGUOUS_REASON = "ambiguous_label"


@dataclass(frozen=True)
class LabelRule:
    """How a window becomes positive.

    Attributes
    ----------
    mode : ``"overlap"`` (default): positive when the window overlaps the union of peaks
        by at least the threshold; ``"summit"``: positive when a peak summit lies inside.
    min_overlap_bp : overlap threshold in bases (default 1).
    min_overlap_fraction : overlap threshold as a fraction of the window (default 0); the
        stricter of the two applies.
    exclude_ambiguous : leave out windows that touch a peak but fall below the threshold
        (default False: they are negatives).

    Raises
    ------
    InputError
        For an unknown mode, a negative ``min_overlap_bp`` or a fraction outside [0, 1].
    """

    mode: str = "overlap"
    min_overlap_bp: int = 1
    min_overlap_fraction: float = 0.0
    exclude_ambiguous: bool = False

    def __post_init__(self) -> None:
        check_choice(self.mode, LABEL_MODES, "labels.mode")
        if self.min_overlap_bp < 0:
            raise InputError(f"labels.min_overlap_bp: {self.min_overlap_bp} must not be negative")
        if not 0.0 <= self.min_overlap_fraction <= 1.0:
            raise InputError(f"labels.min_overlap_fraction: {self.min_overlap_fraction} must be in [0, 1]")

    def threshold_bp(self, length: int) -> int:
        """Bases of overlap that make a window of ``length`` bp positive."""
        return max(self.min_overlap_bp, math.ceil(self.min_overlap_fraction * length - 1e-9), 1)


def label_windows(starts: np.ndarray, length: int, merged_peaks: tuple[np.ndarray, np.ndarray],
                  summits: np.ndarray, rule: LabelRule = LabelRule()) -> tuple[np.ndarray, np.ndarray]:
    """Label windows ``[starts, starts + length)``.

    Parameters
    ----------
    merged_peaks : sorted, disjoint peak intervals (starts, ends) on this chromosome.
    summits : sorted absolute summit positions on this chromosome.

    Returns
    -------
    labels : int8, 1 / 0, or -1 for ambiguous windows when the rule excludes them.
    overlap : int64, bases of each window covered by peaks.
    """
    starts = np.asarray(starts, dtype=np.int64)
    overlap = overlap_bp(starts, starts + length, *merged_peaks)
    if rule.mode == "summit":
        positive = points_inside(starts, starts + length, summits) > 0
    else:
        positive = overlap >= rule.threshold_bp(length)
    labels = positive.astype(np.int8)
    if rule.exclude_ambiguous:
        labels[(overlap > 0) & ~positive] = AMBIGUOUS
    return labels, overlap
