"""The per-chromosome steps of the dataset build: ``windows``, ``labels`` and ``onehot``.

Each reads files and writes its own file (see :mod:`tfbinding.intermediates`); they are
the workflow's parallel units, with memory bounded by one chromosome.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from . import intermediates as keys
from .atomic import atomic_path, save_npz, write_npy_header
from .bedio import merge_intervals, read_intervals
from .errors import located
from .genome import Genome
from .intermediates import drop_arrays, onehot_path, read_arrays, read_drops, rows_for_chrom
from .labels import AMBIGUOUS, AMBIGUOUS_REASON, LabelRule, label_windows
from .onehot import iter_encoded_windows
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


def build_windows(fasta: PathLike, chrom: str, out: PathLike, *, length: int, stride: int,
                  offset: int = 0, max_n_fraction: float = 0.5, windows_bed: PathLike | None = None,
                  blacklist: PathLike | None = None,
                  aliases: Mapping[str, str] | None = None) -> dict[str, int]:
    """Tile (or read) and filter the windows of ``chrom``; write their starts to ``out`` (.npz).

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
    save_npz(out, **{keys.STARTS: selection.starts, keys.CONSIDERED: np.int64(selection.considered)},
             **drop_arrays(selection.dropped))
    log.info("%s: %d windows considered, %d kept, dropped %s", chrom, selection.considered,
             len(selection.starts), selection.dropped)
    return selection.dropped


def build_labels(windows: PathLike, peaks: PathLike, fasta: PathLike, chrom: str, out: PathLike, *,
                 length: int, rule: LabelRule = LabelRule(),
                 aliases: Mapping[str, str] | None = None,
                 allow_empty_peaks: bool = False) -> np.ndarray:
    """Label the windows of ``chrom`` from ``peaks``; write starts, labels and overlaps (.npz).

    Ambiguous windows (when the rule excludes them) are dropped and counted. A peaks file
    without a single peak is an error (it would silently give no positive), unless
    ``allow_empty_peaks``.
    """
    sizes = Genome(fasta).sizes
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
    archive = read_arrays(windows)
    starts, considered, dropped = archive[keys.STARTS], archive[keys.CONSIDERED], read_drops(archive)
    merged = merge_intervals(chrom_peaks.start, chrom_peaks.end, chrom)
    labels, overlap = label_windows(starts, length, merged, np.sort(chrom_peaks.summit), rule)
    keep = labels != AMBIGUOUS
    dropped[AMBIGUOUS_REASON] = int(np.count_nonzero(~keep))
    save_npz(out, **{keys.STARTS: starts[keep], keys.LABELS: labels[keep].astype(np.uint8),
                     keys.OVERLAP: overlap[keep], keys.CONSIDERED: considered,
                     keys.PEAKS: np.int64(len(chrom_peaks))}, **drop_arrays(dropped))
    log.info("%s: %d windows labelled, %d positive, %d peaks", chrom, int(keep.sum()),
             int(labels[keep].sum()), len(chrom_peaks))
    return labels[keep]


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
