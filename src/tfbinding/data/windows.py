"""The windows step: tile a chromosome (or read its windows from a BED), filter them, write ``windows.npz``.

The tiling and the filters live in :mod:`tfbinding.data.tiling`.

Every window is ``[start, start + length)``, 0-based and half-open. Filters drop a window
for the first reason that applies, in this order: it runs past the chromosome's end, it
overlaps the blacklist, or its fraction of non-ACGT bases exceeds ``max_n_fraction``.
"""
from __future__ import annotations

import logging
import os
from typing import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tfbinding import layout as keys
from tfbinding.atomic import save_npz
from tfbinding.data.tiling import (  # noqa: F401  (re-exported: the filters' old home)
    BLACKLIST,
    N_FRACTION,
    PAST_END,
    WindowSelection,
    n_fraction,
    select_windows,
    tile,
    unknown_runs,
)
from tfbinding.errors import located
from tfbinding.io.bed import merge_intervals, read_intervals
from tfbinding.io.fasta import Genome
from tfbinding.layout import drop_arrays

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
