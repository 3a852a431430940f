"""The per-chromosome steps of the dataset build: ``windows``, ``labels`` and ``onehot``.

Each reads files and writes its own file (see :mod:`tfbinding.intermediates`); they are
the workflow's parallel units, with memory bounded by one chromosome.
"""
from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import intermediates as keys
from .atomic import atomic_path, save_npz, write_npy_header
from .bedio import merge_intervals, read_intervals
from .errors import InputError, located
from .genome import Genome
from .intermediates import drop_arrays, onehot_path, read_arrays, read_drops, rows_for_chrom
from .labels import AMBIGUOUS, AMBIGUOUS_REASON, LabelRule, label_windows
from .onehot import iter_encoded_windows
from .signal_tracks import SignalTracks
from .split import SPLITS
from .windows import select_windows, tile

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


def _chrom_peaks(peaks: PathLike, sizes: Mapping[str, int], chrom: str,
                 aliases: Mapping[str, str] | None, allow_empty_peaks: bool):
    """The peaks of ``chrom`` in one peaks file (an empty file is an error unless allowed)."""
    all_peaks = read_intervals(peaks, sizes, aliases, what="peaks")
    if not len(all_peaks):
        if not allow_empty_peaks:
            raise located(peaks, None, "the peaks file holds no peak (it is empty, or has only "
                          "header and comment lines), so every window would be labelled 0",
                          "Check the file. To build a dataset without positives on purpose, "
                          "set allow_empty_peaks: true in the config (--allow-empty-peaks)")
        log.warning("%s holds no peak; every window is a negative (allow_empty_peaks)", peaks)
    chrom_peaks = all_peaks.on(chrom)
    if not len(chrom_peaks):
        log.warning("%s: no peak on %s; all its windows are negatives", peaks, chrom)
    return chrom_peaks


def build_labels(windows: PathLike, peaks: PathLike | Sequence[PathLike], fasta: PathLike,
                 chrom: str, out: PathLike, *, length: int, rule: LabelRule = LabelRule(),
                 aliases: Mapping[str, str] | None = None, allow_empty_peaks: bool = False,
                 task_names: Sequence[str] | None = None) -> np.ndarray:
    """Label the windows of ``chrom`` from ``peaks``; write starts, labels, overlaps and G+C
    fractions (.npz, see :mod:`tfbinding.intermediates`).

    Parameters
    ----------
    windows : the windows step's file for ``chrom``.
    peaks : one peaks file (one task), or one per task.
    fasta, chrom, out : the prepared FASTA, the chromosome, the file to write.
    length : window length in bp.
    rule : the label rule.
    aliases : chromosome name aliases of the peaks files.
    allow_empty_peaks : a peaks file without a single peak is an error (it would silently
        give no positive), unless this is set.
    task_names : one name per peaks file (several tasks); default ``task1, task2, ...``.

    Returns
    -------
    numpy.ndarray
        The kept windows' labels: (N,) 0/1 for one task, (N, T) with -1 masked for several.

    Notes
    -----
    With one task, ambiguous windows (when the rule excludes them) are dropped and counted,
    as before. With several, a window is kept and its ambiguous labels are masked (-1) per
    task; the drop count ``ambiguous_label`` is then 0 and the masked labels are counted
    per task by the dataset step.
    """
    paths = [peaks] if isinstance(peaks, (str, os.PathLike)) else list(peaks)
    names = list(task_names) if task_names is not None else [f"task{i + 1}" for i in range(len(paths))]
    if len(names) != len(paths):
        raise InputError(f"{len(paths)} peaks files but {len(names)} task names: give one name per "
                         "peaks file")
    if len(set(names)) != len(names):
        raise InputError(f"task names {names} repeat: give each task its own name")
    sizes = Genome(fasta).sizes
    archive = read_arrays(windows)
    starts, considered, dropped = archive[keys.STARTS], archive[keys.CONSIDERED], read_drops(archive)
    # windows files of older versions carry no G+C (only GC matching needs it, and says so)
    gc = archive.get(keys.GC, np.full(len(starts), np.nan, dtype=np.float32))
    columns, overlaps, peak_counts = [], [], []
    for path in paths:
        chrom_peaks = _chrom_peaks(path, sizes, chrom, aliases, allow_empty_peaks)
        merged = merge_intervals(chrom_peaks.start, chrom_peaks.end, chrom)
        labels, overlap = label_windows(starts, length, merged, np.sort(chrom_peaks.summit), rule)
        columns.append(labels)
        overlaps.append(overlap)
        peak_counts.append(len(chrom_peaks))
    if len(paths) == 1:
        labels, overlap = columns[0], overlaps[0]
        keep = labels != AMBIGUOUS
        dropped[AMBIGUOUS_REASON] = int(np.count_nonzero(~keep))
        save_npz(out, **{keys.STARTS: starts[keep], keys.LABELS: labels[keep].astype(np.uint8),
                         keys.OVERLAP: overlap[keep], keys.GC: gc[keep],
                         keys.CONSIDERED: considered, keys.PEAKS: np.int64(peak_counts[0])},
                 **drop_arrays(dropped))
        log.info("%s: %d windows labelled, %d positive, %d peaks", chrom, int(keep.sum()),
                 int(labels[keep].sum()), peak_counts[0])
        return labels[keep]
    labels = np.stack(columns, axis=1).astype(np.int8)
    dropped[AMBIGUOUS_REASON] = 0
    save_npz(out, **{keys.STARTS: starts, keys.LABELS: labels, keys.OVERLAP: np.stack(overlaps, axis=1),
                     keys.GC: gc, keys.TASKS: np.array(names, dtype=str),
                     keys.CONSIDERED: considered, keys.PEAKS: np.array(peak_counts, dtype=np.int64)},
             **drop_arrays(dropped))
    log.info("%s: %d windows labelled for %d tasks; positives %s, masked %s, peaks %s", chrom,
             len(starts), len(names), (labels == 1).sum(axis=0).tolist(),
             (labels == AMBIGUOUS).sum(axis=0).tolist(), peak_counts)
    return labels


def build_onehot(split_table: PathLike, fasta: PathLike, chrom: str, prefix: PathLike) -> list[Path]:
    """One-hot encode the windows of ``chrom`` (with flanks), one ``<prefix>.<split>.npy``
    per split, rows ordered by start. Returns the three paths."""
    sequence = Genome(fasta).sequence(chrom)  # its alphabet was checked by the windows step
    table = read_arrays(split_table, (keys.CHROMS, keys.CHROM_INDEX, keys.SPLIT, keys.STARTS,
                                      keys.LENGTH, keys.FLANK))
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    written = []
    for value, name in enumerate(SPLITS):
        starts = table[keys.STARTS][rows_for_chrom(table, chrom, value)]
        out = onehot_path(prefix, name)
        # written as a stream, not through a memory map: a full disk must raise ENOSPC
        # (a clear error), where a memory map would die of SIGBUS
        with atomic_path(out) as tmp, open(tmp, "wb") as handle:
            write_npy_header(handle, (len(starts), length + 2 * flank, 4), np.uint8)
            for block in iter_encoded_windows(sequence, starts, length, flank):
                handle.write(memoryview(block))
        written.append(out)
    return written


SIGNAL_CHUNK = 4096


def signal_path(prefix: PathLike, split: str) -> Path:
    """Where the signals step writes a chromosome's signal rows of one split: ``<prefix>.S.<split>.npy``."""
    return Path(f"{prefix}.S.{split}.npy")


def signal_counts_path(prefix: PathLike) -> Path:
    """The signals step's counts of bases set to zero (``<prefix>.S.json``)."""
    return Path(f"{prefix}.S.json")


def build_signals(split_table: PathLike, bigwigs: Sequence[PathLike], transforms: Sequence[str],
                  fasta: PathLike, chrom: str, prefix: PathLike, *, missing: str = "error",
                  chunk: int = SIGNAL_CHUNK) -> dict[str, int]:
    """Read signal tracks (bigWig) over the windows of ``chrom``, one ``<prefix>.S.<split>.npy``
    per split: (N, length + 2*flank, S) float32, rows as in the one-hot files.

    Each bigWig is read with pyBigWig a chunk of rows at a time (one range per chunk,
    windows cut out by fancy indexing), so memory stays bounded by one chunk's range.

    Parameters
    ----------
    split_table : the split step's table.
    bigwigs : one bigWig per signal channel, in config order.
    transforms : one of :data:`tfbinding.signal_tracks.SIGNAL_TRANSFORMS` per bigWig
        (``log1p``: ``log(1 + x)``).
    fasta : the prepared FASTA (its chromosome size bounds the flanks).
    chrom, prefix : the chromosome and the output prefix.
    missing : ``"error"`` (default): a chromosome missing from a bigWig, or a base without
        a value (NaN) inside a window's span, is an :class:`~tfbinding.errors.InputError`
        naming the file and chromosome; ``"zero"``: read them as 0 and count them.
    chunk : rows per block.

    Returns
    -------
    dict
        ``{"nan_bases": ..., "missing_chromosome": ...}``, also written to
        ``<prefix>.S.json``.
    """
    import json

    tracks = SignalTracks(tuple(map(str, bigwigs)), tuple(transforms), missing)
    chrom_size = Genome(fasta).sizes[chrom]
    table = read_arrays(split_table, (keys.CHROMS, keys.CHROM_INDEX, keys.SPLIT, keys.STARTS,
                                      keys.LENGTH, keys.FLANK))
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    span = length + 2 * flank
    # one pass along the chromosome for all splits: each base is read once, and each
    # block's rows go to their split's file (rows stay in start order within a split)
    rows = np.concatenate([rows_for_chrom(table, chrom, value) for value in range(len(SPLITS))])
    rows.sort()
    starts, split_of = table[keys.STARTS][rows], table[keys.SPLIT][rows]
    with tracks.open(chrom, chrom_size) as reader, ExitStack() as stack:
        outputs = []
        for value, name in enumerate(SPLITS):
            tmp = stack.enter_context(atomic_path(signal_path(prefix, name)))
            outputs.append(stack.enter_context(open(tmp, "wb")))
            write_npy_header(outputs[-1], (int((split_of == value).sum()), span, len(tracks)), np.float32)
        for first in range(0, len(starts), chunk):
            block = reader.read(starts[first:first + chunk], span, flank)
            block_splits = split_of[first:first + chunk]
            for value, handle in enumerate(outputs):
                handle.write(memoryview(np.ascontiguousarray(block[block_splits == value])))
    counts = reader.counts
    with atomic_path(signal_counts_path(prefix)) as tmp:
        Path(tmp).write_text(json.dumps(counts, sort_keys=True))
    return counts
