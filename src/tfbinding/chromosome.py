"""The per-chromosome steps: windows, labels, one-hot. Each reads files and writes one file.

These are the workflow's parallel units: memory is bounded by one chromosome.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from .atomic import atomic_path, save_npz
from .bedio import merge_intervals, read_intervals
from .errors import located
from .genome import Genome
from .labels import AMBIGUOUS, AMBIGUOUS_REASON, LabelRule, label_windows
from .npyio import write_npy_header
from .onehot import iter_encoded_windows
from .splits import SPLITS, rows_for_chrom
from .windows import select_windows, tile

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _drop_arrays(dropped: Mapping[str, int]) -> dict[str, np.ndarray]:
    return {"drop_reasons": np.array(list(dropped), dtype=str),
            "drop_counts": np.array(list(dropped.values()), dtype=np.int64)}


def read_drops(archive: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Drop counts by reason, as stored by the windows and labels steps."""
    return dict(zip(archive["drop_reasons"].tolist(), archive["drop_counts"].tolist()))


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
    save_npz(out, starts=selection.starts, considered=np.int64(selection.considered),
             **_drop_arrays(selection.dropped))
    log.info("%s: %d windows considered, %d kept, dropped %s", chrom, selection.considered,
             len(selection.starts), selection.dropped)
    return selection.dropped


def build_labels(windows: PathLike, peaks: PathLike, fasta: PathLike, chrom: str, out: PathLike, *,
                 length: int, rule: LabelRule = LabelRule(),
                 aliases: Mapping[str, str] | None = None) -> np.ndarray:
    """Label the windows of ``chrom`` from ``peaks``; write starts, labels and overlaps (.npz).

    Ambiguous windows (when the rule excludes them) are dropped and counted.
    """
    sizes = Genome(fasta).sizes
    chrom_peaks = read_intervals(peaks, sizes, aliases, what="peaks").on(chrom)
    if not len(chrom_peaks):
        log.warning("%s: no peak on %s; all its windows are negatives", peaks, chrom)
    with np.load(windows) as archive:
        starts = archive["starts"]
        dropped = read_drops(archive)
        considered = archive["considered"]
    merged = merge_intervals(chrom_peaks.start, chrom_peaks.end, chrom)
    labels, overlap = label_windows(starts, length, merged, np.sort(chrom_peaks.summit), rule)
    keep = labels != AMBIGUOUS
    dropped[AMBIGUOUS_REASON] = int(np.count_nonzero(~keep))
    save_npz(out, starts=starts[keep], labels=labels[keep].astype(np.uint8), overlap=overlap[keep],
             considered=considered, peaks=np.int64(len(chrom_peaks)), **_drop_arrays(dropped))
    log.info("%s: %d windows labelled, %d positive, %d peaks", chrom, int(keep.sum()),
             int(labels[keep].sum()), len(chrom_peaks))
    return labels[keep]


def onehot_path(prefix: PathLike, split: str) -> Path:
    """Where the one-hot step writes a chromosome's windows of one split."""
    return Path(f"{prefix}.{split}.npy")


def build_onehot(split_table: PathLike, fasta: PathLike, chrom: str, prefix: PathLike) -> list[Path]:
    """One-hot encode the windows of ``chrom`` (with flanks), one ``<prefix>.<split>.npy``
    per split, rows ordered by start. Returns the three paths."""
    sequence = Genome(fasta).sequence(chrom)  # its alphabet was checked by the windows step
    with np.load(split_table) as archive:
        table = {key: archive[key] for key in ("chroms", "chrom_index", "split", "starts", "length", "flank")}
    length, flank = int(table["length"]), int(table["flank"])
    written = []
    for value, name in enumerate(SPLITS):
        starts = table["starts"][rows_for_chrom(table, chrom, value)]
        out = onehot_path(prefix, name)
        with atomic_path(out) as tmp, open(tmp, "wb") as handle:
            write_npy_header(handle, (len(starts), length + 2 * flank, 4), np.uint8)
            for block in iter_encoded_windows(sequence, starts, length, flank):
                handle.write(memoryview(block))
        written.append(out)
    return written
