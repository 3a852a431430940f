"""The workflow's intermediate files: their key names and paths, in one place.

Per chromosome, ``results/<name>/chromosomes/<chrom>/``:

- ``windows.npz`` (windows step): :data:`STARTS`, :data:`GC` (each window's G+C fraction
  of its A/C/G/T bases, ``[start, start + length)``, float32), :data:`CONSIDERED` and the
  drop counts;
- ``labels.npz`` (labels step): the same plus :data:`LABELS`, :data:`OVERLAP`, :data:`PEAKS`
  and, with several tasks, :data:`TASKS` (names, in config order); then :data:`LABELS`,
  :data:`OVERLAP` are (N, T) and :data:`PEAKS` is (T,). A label of -1 is masked (ambiguous
  for that task);
- ``X.<split>.npy`` (onehot step): the split's one-hot rows, ordered by start.

Per dataset, ``results/<name>/split.npz`` (split step): the split table, all windows in
chromosome order then by start, with :data:`CHROMS`, :data:`CHROM_INDEX`, :data:`STARTS`,
:data:`LABELS` ((N,) uint8, or (N, T) int8 with -1 masked), :data:`GC`, :data:`TASKS`,
:data:`SPLIT` (0 train, 1 valid, 2 test, -1 dropped), :data:`WEIGHTS` ((N,) or (N, T)),
:data:`LENGTH`, :data:`FLANK`, :data:`PER_CHROM` (JSON) and :data:`SPEC` (JSON).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

STARTS = "starts"
CONSIDERED = "considered"
DROP_REASONS = "drop_reasons"
DROP_COUNTS = "drop_counts"
LABELS = "labels"
OVERLAP = "overlap"
PEAKS = "peaks"
CHROMS = "chroms"
CHROM_INDEX = "chrom_index"
SPLIT = "split"
WEIGHTS = "weights"
LENGTH = "length"
FLANK = "flank"
PER_CHROM = "per_chrom"
SPEC = "spec"
GC = "gc"
TASKS = "tasks"


def drop_arrays(dropped: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Drop counts by reason as the two arrays stored in ``windows.npz`` / ``labels.npz``."""
    return {DROP_REASONS: np.array(list(dropped), dtype=str),
            DROP_COUNTS: np.array(list(dropped.values()), dtype=np.int64)}


def read_drops(archive: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Drop counts by reason, as stored by :func:`drop_arrays`."""
    return dict(zip(archive[DROP_REASONS].tolist(), archive[DROP_COUNTS].tolist()))


def read_arrays(path: str | os.PathLike, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (all, or ``keys``), read into memory."""
    with np.load(path) as archive:
        return {key: archive[key] for key in (keys or archive.files)}


def onehot_path(prefix: str | os.PathLike, split: str) -> Path:
    """Where the onehot step writes a chromosome's windows of one split: ``<prefix>.<split>.npy``."""
    return Path(f"{prefix}.{split}.npy")


def rows_for_chrom(table: Mapping[str, np.ndarray], chrom: str, split: int) -> np.ndarray:
    """Rows of the split table that belong to ``chrom`` and go to ``split``, by start."""
    index = int(np.flatnonzero(table[CHROMS] == chrom)[0])
    return np.flatnonzero((table[CHROM_INDEX] == index) & (table[SPLIT] == split))

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def signal_path(prefix: PathLike, split: str) -> Path:
    """Where the signals step writes a chromosome's signal rows of one split: ``<prefix>.S.<split>.npy``."""
    return Path(f"{prefix}.S.{split}.npy")


def signal_counts_path(prefix: PathLike) -> Path:
    """The signals step's counts of bases set to zero (``<prefix>.S.json``)."""
    return Path(f"{prefix}.S.json")
