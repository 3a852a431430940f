"""Windows along a chromosome: tile them, or take them from a BED, then filter them.

Every window is ``[start, start + length)``, 0-based and half-open. Filters drop a window
for the first reason that applies, in this order: it runs past the chromosome's end, it
overlaps the blacklist, or its fraction of non-ACGT bases exceeds ``max_n_fraction``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tfbinding import layout as keys
from tfbinding.atomic import save_npz
from tfbinding.data.onehot import base_classes
from tfbinding.errors import located
from tfbinding.intervals import overlap_bp
from tfbinding.io.bed import merge_intervals, read_intervals
from tfbinding.io.fasta import Genome
from tfbinding.layout import drop_arrays

PAST_END = "past_chrom_end"
BLACKLIST = "blacklist"
N_FRACTION = "n_fraction"


def tile(chrom_size: int, length: int, stride: int, offset: int = 0) -> np.ndarray:
    """Starts ``offset, offset + stride, …`` below ``chrom_size`` (the last ones may run past
    the end; :func:`select_windows` drops and counts them).
    """
    if offset >= chrom_size:
        return np.zeros(0, dtype=np.int64)
    return np.arange(offset, chrom_size, stride, dtype=np.int64)


def unknown_runs(sequence: np.ndarray, name: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs ``[start, end)`` of bases that are not A, C, G or T (N, IUPAC codes).

    Real genomes hold few, long runs (gaps, centromeres), so windows are checked against
    these intervals instead of a per-base prefix sum. Bytes that are no nucleotide code
    are an error (see :func:`tfbinding.data.onehot.base_classes`).
    """
    unknown = base_classes(sequence, name).view(np.bool_)
    change = np.flatnonzero(unknown[1:] != unknown[:-1]) + 1
    bounds = np.concatenate(([0], change, [len(unknown)])).astype(np.int64)
    starts, ends = bounds[:-1], bounds[1:]
    keep = unknown[starts] if len(unknown) else np.zeros(0, dtype=bool)
    return starts[keep], ends[keep]


def n_fraction(sequence: np.ndarray, starts: np.ndarray, length: int,
               name: str = "sequence") -> np.ndarray:
    """Fraction of bases in each window that are not A, C, G or T (any case)."""
    return overlap_bp(starts, starts + length, *unknown_runs(sequence, name)) / length


@dataclass
class WindowSelection:
    """Windows kept on one chromosome, and how many were dropped for each reason."""

    starts: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)
    considered: int = 0


def select_windows(sequence: np.ndarray, starts: np.ndarray, length: int, max_n_fraction: float,
                   blacklist: tuple[np.ndarray, np.ndarray] | None = None,
                   name: str = "sequence") -> WindowSelection:
    """Drop windows past the end, on the blacklist, or too N-rich; count each reason.

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        The chromosome's ASCII bases.
    starts : array of int
        0-based starts of windows ``[start, start + length)``; sorted and made unique.
    length : int
        Window length in bp.
    max_n_fraction : float
        A window is kept when its fraction of non-ACGT bases is at most this.
    blacklist : (starts, ends) or None
        Merged, sorted intervals; a window touching one is dropped.
    name : str
        Named in errors (a byte that is no nucleotide code).

    Returns
    -------
    WindowSelection
        The kept starts, the number considered, and drops by the first reason that applies
        (``past_chrom_end``, ``blacklist``, ``n_fraction``).

    Raises
    ------
    InputError
        When the sequence holds a byte that is no nucleotide or IUPAC code.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if not np.all(starts[1:] > starts[:-1]):
        starts = np.unique(starts)
    considered = len(starts)
    dropped = {PAST_END: 0, BLACKLIST: 0, N_FRACTION: 0}
    inside = starts + length <= len(sequence)
    dropped[PAST_END] = int(np.count_nonzero(~inside))
    starts = starts[inside]
    if blacklist is not None and len(blacklist[0]):
        hit = overlap_bp(starts, starts + length, *blacklist) > 0
        dropped[BLACKLIST] = int(np.count_nonzero(hit))
        starts = starts[~hit]
    too_many_n = n_fraction(sequence, starts, length, name) > max_n_fraction
    dropped[N_FRACTION] = int(np.count_nonzero(too_many_n))
    return WindowSelection(starts[~too_many_n], dropped, considered)

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def window_starts_from_bed(path: PathLike, chrom: str, sizes: Mapping[str, int], length: int,
                           aliases: Mapping[str, str] | None = None) -> np.ndarray:
    """Starts of the windows that a BED lists on ``chrom``; each must be ``length`` long."""
    windows = read_intervals(path, sizes, aliases, what="windows", allow_past_end=True).on(chrom)
    wrong = np.flatnonzero(windows.end - windows.start != length)
    if wrong.size:
        row = wrong[0]
        raise located(path, int(windows.line[row]), f"window {chrom}:{windows.start[row]}-"
                      f"{windows.end[row]} is {windows.end[row] - windows.start[row]} bp long, not "
                      f"windows.length = {length}", "Make every window the same length as the config's")
    repeated = np.flatnonzero(np.diff(windows.start) == 0)
    if repeated.size:
        row = repeated[0] + 1
        raise located(path, int(windows.line[row]), f"window {chrom}:{windows.start[row]}-"
                      f"{windows.end[row]} is listed twice", "Remove duplicate windows")
    return windows.start



_GC_BASES = np.zeros(256, dtype=bool)
_GC_BASES[list(b"GCgc")] = True
_ACGT_BASES = np.zeros(256, dtype=bool)
_ACGT_BASES[list(b"ACGTacgt")] = True
GC_CHUNK_BYTES = 1 << 21


def gc_fraction(sequence: np.ndarray, starts: np.ndarray, length: int,
                chunk_bytes: int = GC_CHUNK_BYTES) -> np.ndarray:
    """G+C fraction of each window ``[start, start + length)``: G and C bases (any case)
    over A, C, G and T bases (0 for a window without any).

    Vectorised, with no full-length temporary: the windows are sliding-window views of the
    sequence, gathered ``chunk_bytes`` at a time by fancy indexing; a 256-entry table marks
    G/C (and A/C/G/T) bytes, counted per row. Faster and smaller than a cumulative sum over
    the chromosome (which needs 4-8 bytes a base), for any starts (sorted or not,
    overlapping or not).

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        The chromosome's ASCII bases.
    starts : array of int
        Window starts, each with ``0 <= start`` and ``start + length <= len(sequence)``.
    length : int
        Window length in bp.
    chunk_bytes : int
        Bases gathered per block (rows x length).

    Returns
    -------
    numpy.ndarray of float32
        One fraction per window, in ``starts`` order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    gc = np.zeros(len(starts), dtype=np.int64)
    acgt = np.zeros(len(starts), dtype=np.int64)
    if len(starts):
        views = sliding_window_view(sequence, length)
        rows = max(1, chunk_bytes // length)
        for first in range(0, len(starts), rows):
            block = views[starts[first:first + rows]]
            gc[first:first + rows] = np.count_nonzero(_GC_BASES[block], axis=1)
            acgt[first:first + rows] = np.count_nonzero(_ACGT_BASES[block], axis=1)
    return np.divide(gc, acgt, out=np.zeros(len(starts), dtype=np.float64),
                     where=acgt > 0).astype(np.float32)


def build_windows(fasta: PathLike, chrom: str, out: PathLike, *, length: int, stride: int,
                  offset: int = 0, max_n_fraction: float = 0.5, windows_bed: PathLike | None = None,
                  blacklist: PathLike | None = None, aliases: Mapping[str, str] | None = None,
                  gc: bool = False) -> dict[str, int]:
    """Tile (or read) and filter the windows of ``chrom``; write their starts (and, with
    ``gc``, their G+C fractions, :func:`gc_fraction`, for GC-matched negatives) to ``out``
    (.npz). G+C is opt-in: it costs about as much as the rest of the step.

    Returns the drop counts by reason.
    """
    genome = Genome(fasta)
    sequence = genome.sequence(chrom)
    if windows_bed:
        starts = window_starts_from_bed(windows_bed, chrom, genome.sizes, length, aliases)
    else:
        starts = tile(len(sequence), length, stride, offset)
    merged_blacklist = None
    if blacklist:
        spots = read_intervals(blacklist, genome.sizes, aliases, what="blacklist").on(chrom)
        merged_blacklist = merge_intervals(spots.start, spots.end, chrom)
    selection = select_windows(sequence, starts, length, max_n_fraction, merged_blacklist,
                               name=f"{fasta}: {chrom}")
    arrays = {keys.STARTS: selection.starts, keys.CONSIDERED: np.int64(selection.considered)}
    if gc:
        arrays[keys.GC] = gc_fraction(sequence, selection.starts, length)
    save_npz(out, **arrays, **drop_arrays(selection.dropped))
    log.info("%s: %d windows considered, %d kept, dropped %s", chrom, selection.considered,
             len(selection.starts), selection.dropped)
    return selection.dropped
