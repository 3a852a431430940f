"""The dataset's files and the workflow's intermediates: their names, keys and paths, in one place.

The package, the workflow's rules and the tests take every file name from here.

A dataset folder, ``results/<name>/dataset/``: :data:`MANIFEST` and one folder per split
(:data:`SPLITS`) holding one ``<key>.npy`` per key of :data:`ARRAYS` (``X``, ``y``, ``w``,
``ids``) and, when the dataset has signal channels, ``S.npy`` (:data:`SIGNALS`); see
:func:`array_path` and :func:`dataset_files`. With ``split.folds: K`` the dataset folder
holds a folds manifest (:data:`MANIFEST`, ``"folds": K``) and K such dataset folders,
``fold<k>/`` (:func:`fold_dir`), whose splits are parts of the windows (:func:`fold_parts`).

Per chromosome, ``results/<name>/chromosomes/<chrom>/``:

- ``windows.npz`` (windows step): :data:`STARTS`, :data:`GC` (each window's G+C fraction
  of its A/C/G/T bases, ``[start, start + length)``, float32), :data:`CONSIDERED` and the
  drop counts;
- ``labels.npz`` (labels step): the same plus :data:`LABELS`, :data:`OVERLAP`, :data:`PEAKS`
  and, with several tasks, :data:`TASKS` (names, in config order); then :data:`LABELS`,
  :data:`OVERLAP` are (N, T) and :data:`PEAKS` is (T,). A label of -1 is masked (ambiguous
  for that task);
- ``X.<split>.npy`` (onehot step): the split's one-hot rows, ordered by start; with folds
  one ``X.part<k>.npy`` per part instead (:func:`part_names`).

Per dataset, ``results/<name>/split.npz`` (split step): the split table, all windows in
chromosome order then by start, with :data:`CHROMS`, :data:`CHROM_INDEX`, :data:`STARTS`,
:data:`LABELS` ((N,) uint8, or (N, T) int8 with -1 masked), :data:`GC`, :data:`TASKS`,
:data:`SPLIT` (0 train, 1 valid, 2 test, -1 dropped), :data:`WEIGHTS` ((N,) or (N, T)),
:data:`LENGTH`, :data:`FLANK`, :data:`PER_CHROM` (JSON) and :data:`SPEC` (JSON).
"""
from __future__ import annotations

import logging
import os
import struct
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

#: the dataset's splits, in the split table's order (value 0, 1, 2)
SPLITS = ("train", "valid", "test")
#: the arrays of every split folder: one-hot windows, labels, weights, window ids
ARRAYS = ("X", "y", "w", "ids")
#: the signal channels' array, (n, L + 2·flank, S) float32, when the dataset has signals
SIGNALS = "S"
#: the dataset's manifest; written last, so its presence marks a complete dataset
MANIFEST = "manifest.json"

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
#: split table with ``split.folds``: K; :data:`SPLIT` then holds each window's part
#: (0 .. K-1, -1 dropped) and :data:`WEIGHTS` is (K, N) or (K, N, T), one row per fold
FOLDS = "folds"


PathLike = str | os.PathLike


def array_file(key: str) -> str:
    """The file name of one of a split's arrays (``<key>.npy``)."""
    return f"{key}.npy"


def array_path(dataset: PathLike, split: str, key: str) -> Path:
    """Where a dataset keeps one array of one split: ``<dataset>/<split>/<key>.npy``."""
    return Path(dataset) / split / array_file(key)


def dataset_files(dataset: str, splits: tuple[str, ...] = SPLITS, keys: tuple[str, ...] = ARRAYS,
                  manifest: bool = True) -> list[str]:
    """A dataset's files as strings (the workflow's inputs and outputs): the manifest, then
    ``<dataset>/<split>/<key>.npy`` for each split and key.
    """
    return ([f"{dataset}/{MANIFEST}"] if manifest else []) + [
        f"{dataset}/{split}/{array_file(key)}" for split in splits for key in keys]


def part_names(folds: int | None = None) -> tuple[str, ...]:
    """The names of the parts that the onehot step encodes (``X.<part>.npy``): the splits
    (:data:`SPLITS`) without folds; ``part0`` .. ``part<K-1>`` with K folds.
    """
    return SPLITS if not folds else tuple(f"part{k}" for k in range(folds))


def table_folds(split_table: PathLike) -> int | None:
    """K when the split table was made with ``split.folds: K``, else None."""
    with np.load(split_table) as archive:
        return int(archive[FOLDS]) if FOLDS in archive.files else None


def fold_dir(dataset: PathLike, fold: int) -> Path:
    """Fold ``fold``'s dataset folder: ``<dataset>/fold<fold>`` (a normal dataset folder)."""
    return Path(dataset) / f"fold{fold}"


def fold_parts(fold: int, folds: int) -> dict[str, list[int]]:
    """The parts of each split of fold ``fold`` of ``folds``: test is part ``fold``, valid
    part ``(fold + 1) % folds``, train the others (ascending).
    """
    valid = (fold + 1) % folds
    return {"train": [p for p in range(folds) if p not in (fold, valid)], "valid": [valid], "test": [fold]}


def fold_dataset_files(dataset: str, folds: int, keys: tuple[str, ...] = ARRAYS,
                       manifest: bool = True) -> list[str]:
    """A K-fold dataset's files: ``<dataset>/manifest.json`` and every fold folder's
    (:func:`dataset_files` of ``<dataset>/fold<k>``); the manifests only with ``manifest``.
    """
    files = [f"{dataset}/{MANIFEST}"] if manifest else []
    for fold in range(folds):
        files += dataset_files(f"{dataset}/fold{fold}", keys=keys, manifest=manifest)
    return files


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


def npz_memmaps(path: PathLike, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Memory maps of members of an uncompressed ``.npz`` (``np.savez``; all, or ``names``):
    reading a genome-wide split table's columns for one chromosome then touches only that
    chromosome's pages, not the whole table, and nothing is copied or checksummed up front.
    A compressed member, a scalar or an object array is read as usual.
    """
    out = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for name in names or [member.removesuffix(".npy") for member in archive.namelist()]:
            info = archive.getinfo(f"{name}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with np.load(path) as loaded:
                    out[name] = loaded[name]
                continue
            handle.seek(info.header_offset)
            local = struct.unpack("<4s5H3L2H", handle.read(30))
            handle.seek(info.header_offset + 30 + local[-2] + local[-1])
            version = np.lib.format.read_magic(handle)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(handle) if version == (1, 0)
                                     else np.lib.format.read_array_header_2_0(handle))
            if dtype.hasobject or not shape or 0 in shape:
                with np.load(path) as loaded:
                    out[name] = loaded[name]
                continue
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=handle.tell(), shape=shape,
                                  order="F" if fortran else "C")
    return out


#: the stems of a chromosome's onehot and signals files in its folder
#: (``results/<name>/chromosomes/<chrom>/X.<split>.npy``, ``.../signals.S.<split>.npy``)
ONEHOT_STEM = "X"
SIGNALS_STEM = "signals"


def onehot_prefix_in(folder: PathLike) -> str:
    """The onehot step's prefix in a chromosome's folder: ``<folder>/X``."""
    return f"{folder}/{ONEHOT_STEM}"


def signal_prefix_in(folder: PathLike) -> str:
    """The signals step's prefix in a chromosome's folder: ``<folder>/signals``."""
    return f"{folder}/{SIGNALS_STEM}"


def onehot_path(prefix: PathLike, split: str) -> Path:
    """Where the onehot step writes a chromosome's windows of one split: ``<prefix>.<split>.npy``."""
    return Path(f"{prefix}.{split}.npy")


def onehot_prefix(path: str) -> str:
    """The prefix of a path that :func:`onehot_path` made for the first split (``<prefix>.train.npy``)."""
    suffix = f".{SPLITS[0]}.npy"
    if not path.endswith(suffix):
        raise ValueError(f"{path}: not a onehot file of split {SPLITS[0]} (*{suffix})")
    return path.removesuffix(suffix)


def onehot_prefixes(paths: list[str]) -> list[str]:
    """The prefixes of the onehot step's outputs among ``paths`` (any splits), in order."""
    return [onehot_prefix(path) for path in paths if path.endswith(f".{SPLITS[0]}.npy")]


def rows_for_chrom(table: Mapping[str, np.ndarray], chrom: str, split: int) -> np.ndarray:
    """Rows of the split table that belong to ``chrom`` and go to ``split``, by start."""
    index = int(np.flatnonzero(table[CHROMS] == chrom)[0])
    return np.flatnonzero((table[CHROM_INDEX] == index) & (table[SPLIT] == split))

log = logging.getLogger(__name__)


def signal_path(prefix: PathLike, split: str) -> Path:
    """Where the signals step writes a chromosome's signal rows of one split: ``<prefix>.S.<split>.npy``."""
    return Path(f"{prefix}.{SIGNALS}.{split}.npy")


def signal_counts_path(prefix: PathLike) -> Path:
    """The signals step's counts of bases set to zero (``<prefix>.S.json``)."""
    return Path(f"{prefix}.{SIGNALS}.json")


def signal_prefix(counts_path: str) -> str:
    """The prefix of a path that :func:`signal_counts_path` made (``<prefix>.S.json``)."""
    if not counts_path.endswith(".S.json"):
        raise ValueError(f"{counts_path}: not a signals step's counts file (*.S.json)")
    return counts_path.removesuffix(".S.json")
