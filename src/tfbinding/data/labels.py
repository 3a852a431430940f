"""The labels step: each window's binary label from ChIP-seq peaks, written to ``labels.npz``.

The rule itself lives in :mod:`tfbinding.data.label_rule`.
"""
from __future__ import annotations

import logging
import os
from typing import Mapping, Sequence

import numpy as np

from tfbinding import layout as keys
from tfbinding.atomic import save_npz
from tfbinding.data.label_rule import (  # noqa: F401  (re-exported: the rule's old home)
    AMBIGUOUS,
    AMBIGUOUS_REASON,
    NEGATIVE,
    POSITIVE,
    LabelRule,
    label_windows,
)
from tfbinding.errors import InputError, located
from tfbinding.io.bed import merge_intervals, read_intervals
from tfbinding.io.fasta import Genome
from tfbinding.layout import drop_arrays, read_arrays, read_drops

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


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
    fractions (.npz, see :mod:`tfbinding.layout`).

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
