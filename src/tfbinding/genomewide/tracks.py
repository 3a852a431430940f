"""Genome tracks from per-window scores: a per-base mean track (bedGraph, bigWig) and
called sites (merged windows above a threshold). All coordinates 0-based, half-open.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tfbinding.atomic import atomic_path
from tfbinding.text import check_line_value


@dataclass
class Track:
    """Sorted, non-overlapping segments ``[starts, ends)`` with a value each."""

    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray


TRACK_BLOCK = 1 << 20  # windows per block of :func:`mean_track`


def mean_track(starts: np.ndarray, length: int, scores: np.ndarray, decimals: int = 4,
               block: int | None = None) -> Track:
    """The per-base mean of the scores of the windows covering each base.

    Sorted starts are worked through in blocks of about ``block`` windows, so memory is
    the track plus one block (not several arrays over all ``2n`` window edges); the result
    is byte-identical to the whole-array computation (:func:`_mean_track_whole`), which
    serves unsorted starts.

    Parameters
    ----------
    starts : array of int
        0-based window starts, windows ``[start, start + length)``.
    length : int
    scores : array of float, one per window
    decimals : int, default 4
        Adjacent segments whose means agree to this many places are joined.
    block : int or None
        Windows per block (default :data:`TRACK_BLOCK`; windows sharing a start stay together).

    Returns
    -------
    Track
        Sorted, non-overlapping segments with their mean; bases under no window are left out.
    """
    block = TRACK_BLOCK if block is None else max(int(block), 1)
    starts = np.asarray(starts, dtype=np.int64)
    scores = np.asarray(scores)
    if len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Track(empty, empty, np.zeros(0, dtype=np.float32))
    if length <= 0 or len(starts) <= block or not np.all(starts[1:] >= starts[:-1]):
        return _mean_track_whole(starts, length, scores, decimals)
    return _mean_track_blocks(starts, length, scores, decimals, block)


def _mean_track_whole(starts: np.ndarray, length: int, scores: np.ndarray, decimals: int) -> Track:
    """:func:`mean_track` over all window edges at once (any order of starts)."""
    positions = np.concatenate((starts, starts + length))
    score_change = np.concatenate((scores, -scores)).astype(np.float64)
    count_change = np.concatenate((np.ones(len(starts)), -np.ones(len(starts))))
    breaks, where = np.unique(positions, return_inverse=True)
    score_sum = np.cumsum(np.bincount(where, weights=score_change, minlength=len(breaks)))[:-1]
    count = np.rint(np.cumsum(np.bincount(where, weights=count_change, minlength=len(breaks)))[:-1])
    covered = count > 0
    values = np.round(score_sum[covered] / count[covered], decimals)
    seg_starts, seg_ends = breaks[:-1][covered], breaks[1:][covered]
    # join neighbours that touch and carry the same (rounded) value
    new = np.ones(len(values), dtype=bool)
    new[1:] = (seg_starts[1:] != seg_ends[:-1]) | (values[1:] != values[:-1])
    first = np.flatnonzero(new)
    last = np.concatenate((first[1:], [len(values)])) - 1
    return Track(seg_starts[first], seg_ends[last], values[first].astype(np.float32))


def _mean_track_blocks(starts: np.ndarray, length: int, scores: np.ndarray, decimals: int,
                       block: int) -> Track:
    """:func:`mean_track` for sorted starts, one range of positions at a time.

    The positions are cut at the starts ``starts[0], starts[block], ...``; a range
    ``[lo, hi)`` holds the edges of the windows starting in it and of those ending in it
    (starting up to ``length`` bp before). Each edge's score and count changes are summed in
    the whole-array order (a position's starts, then its ends, each in window order), and
    the running sums carry from range to range, so every float64 sum, mean and rounding is
    the whole-array one; segments that touch and agree across a cut are joined as there.
    """
    n = len(starts)
    cuts = np.unique(starts[::block])
    capacity = 2 * n  # at most 2n - 1 segments
    out_starts = np.empty(capacity, dtype=np.int64)
    out_ends = np.empty(capacity, dtype=np.int64)
    out_values = np.empty(capacity, dtype=np.float32)
    filled = 0
    score_carry = count_carry = 0.0
    last_value = 0.0
    for index, lo in enumerate(cuts.tolist()):
        final = index == len(cuts) - 1
        hi = None if final else int(cuts[index + 1])
        a = int(np.searchsorted(starts, lo, side="left"))
        b = n if final else int(np.searchsorted(starts, hi, side="left"))
        c = int(np.searchsorted(starts, lo - length, side="left"))
        d = n if final else int(np.searchsorted(starts, hi - length, side="left"))
        positions = np.concatenate((starts[a:b], starts[c:d] + length))
        score_change = np.concatenate((scores[a:b], -scores[c:d])).astype(np.float64)
        count_change = np.concatenate((np.ones(b - a), -np.ones(d - c)))
        breaks, where = np.unique(positions, return_inverse=True)
        score_delta = np.bincount(where, weights=score_change, minlength=len(breaks))
        count_delta = np.bincount(where, weights=count_change, minlength=len(breaks))
        score_delta[0] += score_carry  # the running sum goes on from the last range
        count_delta[0] += count_carry
        score_sum = np.cumsum(score_delta)
        count = np.cumsum(count_delta)
        score_carry, count_carry = float(score_sum[-1]), float(count[-1])
        if final:  # the last edge closes the last segment
            score_sum, count, seg_ends = score_sum[:-1], count[:-1], breaks[1:]
        else:  # the next range starts with an edge at hi
            seg_ends = np.concatenate((breaks[1:], [hi]))
        count = np.rint(count)
        covered = count > 0
        values = np.round(score_sum[covered] / count[covered], decimals)
        seg_starts, seg_ends = breaks[:len(count)][covered], seg_ends[covered]
        if not len(values):
            continue
        new = np.ones(len(values), dtype=bool)
        new[1:] = (seg_starts[1:] != seg_ends[:-1]) | (values[1:] != values[:-1])
        if filled:
            new[0] = (seg_starts[0] != out_ends[filled - 1]) | (values[0] != last_value)
        first = np.flatnonzero(new)
        last = np.concatenate((first[1:], [len(values)])) - 1
        if not new[0]:  # the first segments extend the previous range's last one
            out_ends[filled - 1] = seg_ends[first[0] - 1 if len(first) else len(values) - 1]
        count_new = len(first)
        out_starts[filled:filled + count_new] = seg_starts[first]
        out_ends[filled:filled + count_new] = seg_ends[last]
        out_values[filled:filled + count_new] = values[first]
        filled += count_new
        last_value = values[-1]
    for array in (out_starts, out_ends, out_values):  # give the unused tail back
        array.resize(filled, refcheck=False)
    return Track(out_starts, out_ends, out_values)


def write_bedgraph(path: str | os.PathLike, chrom: str, track: Track, decimals: int = 4) -> None:
    """A bedGraph file (sorted, non-overlapping) that UCSC and IGV load.

    Raises
    ------
    InputError
        A chromosome name that would break a line (:mod:`tfbinding.text`).
    """
    check_line_value(chrom, "chromosome name", forbid=' "')
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        handle.write(f'track type=bedGraph name="{chrom} binding" visibility=full\n')
        for first in range(0, len(track.starts), 1 << 18):
            block = slice(first, first + (1 << 18))
            handle.writelines(f"{chrom}\t{s}\t{e}\t{v:.{decimals}f}\n" for s, e, v in zip(
                track.starts[block].tolist(), track.ends[block].tolist(), track.values[block].tolist()))


def write_bigwig(path: str | os.PathLike, chrom: str, track: Track, sizes: dict[str, int]) -> None:
    """The same track as bigWig (pyBigWig), with the genome's chromosome sizes."""
    import pyBigWig

    with atomic_path(path) as tmp:
        bigwig = pyBigWig.open(str(tmp), "w")
        bigwig.addHeader(list(sizes.items()), maxZooms=10)
        if len(track.starts):
            bigwig.addEntries([chrom] * len(track.starts), track.starts.tolist(),
                              ends=track.ends.tolist(), values=track.values.astype(float).tolist())
        bigwig.close()


@dataclass
class Sites:
    """Called binding sites: merged runs of windows scoring at or above a threshold."""

    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray  # the best window's score
    summits: np.ndarray  # absolute position: the middle of the best window


def call_sites(starts: np.ndarray, length: int, scores: np.ndarray, threshold: float) -> Sites:
    """Merge windows scoring at or above a threshold that overlap or touch into sites.

    Parameters
    ----------
    starts : array of int
        Sorted 0-based window starts.
    length : int
        Window length in bp.
    scores : array of float
    threshold : float

    Returns
    -------
    Sites
        ``[start, end)`` of each site, its best window's score, and the summit (the middle
        of its first best window).
    """
    hit = np.flatnonzero(scores >= threshold)
    hit_starts = starts[hit]
    if len(hit) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Sites(empty, empty, np.zeros(0, dtype=np.float32), empty)
    new_site = np.ones(len(hit), dtype=bool)
    new_site[1:] = hit_starts[1:] > hit_starts[:-1] + length
    site = np.cumsum(new_site) - 1
    first = np.flatnonzero(new_site)
    last = np.concatenate((first[1:], [len(hit)])) - 1
    hit_scores = scores[hit]
    is_best = hit_scores == np.maximum.reduceat(hit_scores, first)[site]
    candidates = np.flatnonzero(is_best)
    best = candidates[np.r_[True, site[candidates][1:] != site[candidates][:-1]]]  # first best per site
    return Sites(hit_starts[first], hit_starts[last] + length, hit_scores[best],
                 hit_starts[best] + length // 2)


def write_sites(path: str | os.PathLike, chrom: str, sites: Sites) -> None:
    """Sites as BED in narrowPeak layout: name, score 0-1000, strand '.', the best
    probability as signalValue, -1 p/q values, and the summit offset.

    Raises
    ------
    InputError
        A chromosome name that would break a line (:mod:`tfbinding.text`).
    """
    check_line_value(chrom, "chromosome name", forbid=' "')
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        for index, (start, end, score, summit) in enumerate(zip(
                sites.starts.tolist(), sites.ends.tolist(), sites.scores.tolist(), sites.summits.tolist())):
            handle.write(f"{chrom}\t{start}\t{end}\t{chrom}_site{index + 1}\t{int(round(score * 1000))}"
                         f"\t.\t{score:.4f}\t-1\t-1\t{summit - start}\n")


def read_thresholds(result: dict) -> float | dict[str, float]:
    """The threshold(s) of a ``threshold.json``: a float, or one per task; a null (no
    threshold reached the FDR) is +inf, so no site is called.
    """
    def value(entry):
        return float("inf") if entry["threshold"] is None else float(entry["threshold"])

    if "tasks" in result:
        return {task: value(entry) for task, entry in result["tasks"].items()}
    return value(result)


def read_threshold_file(path: str | os.PathLike) -> float | dict[str, float]:
    """The threshold(s) of the calibrate step's ``threshold.json`` (:func:`read_thresholds`);
    a task that no threshold calibrated (+inf) is logged, as it calls no site.
    """
    import json
    import logging

    with open(path) as handle:
        threshold = read_thresholds(json.load(handle))
    for task, value in (threshold if isinstance(threshold, dict) else {"": threshold}).items():
        if value == float("inf"):  # strict JSON's null for +Infinity: no threshold reached the FDR
            logging.getLogger(__name__).warning(
                "%s: no threshold reached the FDR on the validation split%s; no site is called",
                path, f" for task {task}" if task else "")
    return threshold
