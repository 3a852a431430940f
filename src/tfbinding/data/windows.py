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
from tfbinding.data.encoding import IS_ACGT, IS_VALID, base_classes
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
from tfbinding.intervals import overlap_bp
from tfbinding.io.fasta import Genome
from tfbinding.layout import drop_arrays

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def window_starts_from_bed(path: PathLike, chrom: str, sizes: Mapping[str, int], length: int,
                           aliases: Mapping[str, str] | None = None) -> np.ndarray:
    """Starts of the windows that a BED lists on ``chrom``; each must be ``length`` long."""
    from tfbinding.io.bed import read_intervals  # imports pybedtools: only when needed

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


#: translate table: A, C, G, T (any case) -> 0; N, IUPAC codes, gaps -> 1; anything else -> 2
_CLASSES = bytes(0 if IS_ACGT[byte] else 1 if IS_VALID[byte] else 2 for byte in range(256))
#: past this many runs of non-ACGT bases, they are found by numpy instead of a find() loop
MAX_LOOPED_RUNS = 100_000


#: the same, with a line end ("\\n") -> 3, for a FASTA record's bytes as stored
_CLASSES_LINES = _CLASSES[:10] + b"\x03" + _CLASSES[11:]


def record_classes(genome: Genome, chrom: str) -> bytes | None:
    """The base classes (:data:`_CLASSES`) of ``chrom``, straight from the FASTA's bytes:
    one contiguous copy and one ``translate``, the line ends then removed, instead of
    first gathering the sequence line by line. The record's layout is checked as
    :meth:`tfbinding.io.fasta.Genome.sequence` checks it; None when it does not hold (the
    caller then reads the sequence, which raises the error).
    """
    genome.check_chromosomes([chrom])
    record = genome.index[chrom]
    if record.length == 0 or record.line_bytes != record.line_bases + 1:
        return None
    full_lines, tail = divmod(record.length, record.line_bases)
    span = full_lines * record.line_bytes + tail
    if record.offset + span > genome.path.stat().st_size:
        return None
    raw = np.memmap(genome.path, dtype=np.uint8, mode="r", offset=record.offset, shape=(span,))
    classes = raw.tobytes().translate(_CLASSES_LINES)
    del raw
    ends = np.frombuffer(classes, np.uint8, count=full_lines * record.line_bytes)
    if not np.all(ends.reshape(full_lines, record.line_bytes)[:, record.line_bases] == 3):
        return None
    classes = classes.replace(b"\x03", b"")
    return classes if len(classes) == record.length else None


def fast_unknown_runs(sequence: np.ndarray, name: str = "sequence",
                      classes: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tfbinding.data.tiling.unknown_runs`, equal output, faster on real genomes.

    One ``bytes.translate`` pass classifies the bases; the runs are then found with
    ``bytes.find`` (memchr speed), one Python step per run, instead of a boolean diff over
    every base. Genomes hold few, long runs of N; past :data:`MAX_LOOPED_RUNS` runs the
    numpy path takes over. Bytes that are no nucleotide code raise the same error.
    ``classes``, when given, are the sequence's classes already (:func:`record_classes`).
    """
    if classes is None:
        classes = sequence.tobytes().translate(_CLASSES)
    if classes.find(2) != -1:
        base_classes(sequence, name)  # raises, naming the first bad byte
        raise AssertionError("unreachable")
    run_starts: list[int] = []
    run_ends: list[int] = []
    position = classes.find(1)
    while position != -1:
        end = classes.find(0, position)
        end = len(classes) if end == -1 else end
        run_starts.append(position)
        run_ends.append(end)
        if len(run_starts) > MAX_LOOPED_RUNS:  # as tiling.unknown_runs does it
            unknown = np.frombuffer(classes, np.uint8).view(np.bool_)
            change = np.flatnonzero(unknown[1:] != unknown[:-1]) + 1
            bounds = np.concatenate(([0], change, [len(unknown)])).astype(np.int64)
            keep = unknown[bounds[:-1]]
            return bounds[:-1][keep], bounds[1:][keep]
        position = classes.find(1, end)
    return np.array(run_starts, dtype=np.int64), np.array(run_ends, dtype=np.int64)


def fast_select_windows(sequence: np.ndarray | None, starts: np.ndarray, length: int,
                        max_n_fraction: float, blacklist: tuple[np.ndarray, np.ndarray] | None = None,
                        name: str = "sequence", classes: bytes | None = None) -> WindowSelection:
    """:func:`tfbinding.data.tiling.select_windows` (same result) with
    :func:`fast_unknown_runs`; from the sequence's ``classes`` alone when given (all
    valid: no byte of class 2), ``sequence`` then None.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if not np.all(starts[1:] > starts[:-1]):
        starts = np.unique(starts)
    considered = len(starts)
    dropped = {PAST_END: 0, BLACKLIST: 0, N_FRACTION: 0}
    inside = starts + length <= (len(classes) if sequence is None else len(sequence))
    dropped[PAST_END] = int(np.count_nonzero(~inside))
    starts = starts[inside]
    if blacklist is not None and len(blacklist[0]):
        hit = overlap_bp(starts, starts + length, *blacklist) > 0
        dropped[BLACKLIST] = int(np.count_nonzero(hit))
        starts = starts[~hit]
    runs = fast_unknown_runs(sequence, name, classes)
    too_many_n = overlap_bp(starts, starts + length, *runs) / length > max_n_fraction
    dropped[N_FRACTION] = int(np.count_nonzero(too_many_n))
    return WindowSelection(starts[~too_many_n], dropped, considered)


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
    # without G+C, the bases' classes suffice: read them straight from the FASTA's bytes
    classes = None if gc else record_classes(genome, chrom)
    sequence = None
    if classes is None or classes.find(2) != -1:   # a bad byte: the sequence names it
        classes, sequence = None, genome.sequence(chrom)
    size = len(classes) if sequence is None else len(sequence)
    if windows_bed:
        starts = window_starts_from_bed(windows_bed, chrom, genome.sizes, length, aliases)
    else:
        starts = tile(size, length, stride, offset)
    merged_blacklist = None
    if blacklist:
        from tfbinding.io.bed import merge_intervals, read_intervals  # pybedtools: only when needed

        spots = read_intervals(blacklist, genome.sizes, aliases, what="blacklist").on(chrom)
        merged_blacklist = merge_intervals(spots.start, spots.end, chrom)
    selection = fast_select_windows(sequence, starts, length, max_n_fraction, merged_blacklist,
                                    name=f"{fasta}: {chrom}", classes=classes)
    arrays = {keys.STARTS: selection.starts, keys.CONSIDERED: np.int64(selection.considered)}
    if gc:
        arrays[keys.GC] = gc_fraction(sequence, selection.starts, length)
    save_npz(out, **arrays, **drop_arrays(selection.dropped))
    log.info("%s: %d windows considered, %d kept, dropped %s", chrom, selection.considered,
             len(selection.starts), selection.dropped)
    return selection.dropped
