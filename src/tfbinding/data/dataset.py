"""Assemble the dataset folder (the ``dataset`` step): the train/valid/test ``.npy`` arrays
from the per-chromosome one-hot files and the split table, and ``manifest.json``.

Output layout (see the README's output contract)::

    <out>/{train,valid,test}/X.npy    (N, length + 2*flank, 4) uint8, channels A,C,G,T
    <out>/{train,valid,test}/y.npy    (N, T) float32, 0/1 (T = 1 task unless several)
    <out>/{train,valid,test}/w.npy    (N, T) float32 (0 where a task's label is masked)
    <out>/{train,valid,test}/ids.npy  (N,) unicode 'chrom:start-end', 0-based half-open
    <out>/manifest.json

With ``split.folds: K`` (see :func:`tfbinding.data.split.assign_folds`)::

    <out>/fold<k>/...                 one such dataset folder per fold k = 0 .. K-1: test is
                                      part k, valid part (k + 1) mod K, train the rest
    <out>/manifest.json               the folds manifest: each part's chromosomes or blocks,
                                      windows and positives, each fold's parts and counts

Read it back with :func:`tfbinding.data.loader.load_dataset` (``fold=k`` for a fold).
"""
from __future__ import annotations

import errno
import json
import logging
import os
import platform
import subprocess
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tfbinding import layout as keys
from tfbinding.atomic import atomic_path, strict_json, write_npy_header
from tfbinding.checksums import sha256sum
from tfbinding.errors import InputError
from tfbinding.ids import format_ids
from tfbinding.io.sources import is_url
from tfbinding.layout import (
    MANIFEST,
    SIGNALS,
    SPLITS,
    array_file,
    npz_memmaps,
    onehot_path,
    rows_for_chrom,
    signal_counts_path,
    signal_path,
)

log = logging.getLogger(__name__)

FORMAT = "tfbinding-dataset/1"
#: the top manifest of a K-fold dataset (``split.folds``)
FOLDS_FORMAT = "tfbinding-folds/1"
_PACKAGES = ("tfbinding", "numpy", "pysam", "pyfaidx", "pybedtools", "snakemake", "jsonschema")


def software_versions() -> dict[str, str]:
    """Versions of Python, the Python packages used, and the bedtools binary."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        result = subprocess.run(["bedtools", "--version"], capture_output=True, text=True, check=True)
        versions["bedtools"] = result.stdout.strip().removeprefix("bedtools ")
    except (OSError, subprocess.CalledProcessError):
        versions["bedtools"] = "not found"
    return versions


def describe_input(path: str | os.PathLike | None) -> dict | None:
    """Path, size and sha256 of an input file (None stays None)."""
    if not path:
        return None
    path = Path(path)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256sum(path)}


def provenance(name: str, genome_info: str | os.PathLike,
               peaks: str | os.PathLike | Sequence[str | os.PathLike],
               blacklist: str | os.PathLike | None = None, windows_bed: str | os.PathLike | None = None,
               config: Mapping[str, Any] | None = None,
               urls: Mapping[str, Any] | None = None,
               task_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The manifest's ``name``, ``config`` and ``inputs`` (paths, sizes, sha256) entries.

    ``genome_info`` is the ``.source.json`` that ``prepare-genome`` wrote beside the FASTA.
    ``urls`` maps an input (``fasta``, ``peaks``, ``blacklist``, ``windows_bed``) to the URL
    it was downloaded from; each input's entry records its ``url`` (None for a local file).
    With several tasks, ``peaks`` is one file per task, ``task_names`` names them,
    ``urls["peaks"]`` is a list in the same order, and the ``peaks`` entry a list of
    ``{"task": ..., "path": ..., ...}``.
    """
    with open(genome_info) as handle:
        genome = json.load(handle)
    paths = [peaks] if isinstance(peaks, (str, os.PathLike)) else list(peaks)
    inputs = {"fasta": genome, "peaks": describe_input(paths[0]),
              "blacklist": describe_input(blacklist), "windows_bed": describe_input(windows_bed)}
    for key, entry in inputs.items():
        if entry is not None:
            entry["url"] = (urls or {}).get(key)
    if len(paths) > 1:
        names = list(task_names or [f"task{i + 1}" for i in range(len(paths))])
        peak_urls = (urls or {}).get("peaks") or [None] * len(paths)
        inputs["peaks"] = [{"task": task, **describe_input(path), "url": url}
                           for task, path, url in zip(names, paths, peak_urls)]
    return {"name": name, "config": dict(config) if config is not None else None, "inputs": inputs}


def _copy_range(source: int, sink: int, offset: int, count: int) -> None:
    """Append bytes of one open file to another in the kernel (no trip through user memory)."""
    while count:
        try:
            copied = os.copy_file_range(source, sink, count, offset)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise
            # e.g. across file systems on old kernels
            copied = os.write(sink, os.pread(source, min(count, 64 << 20), offset))
        if copied == 0:
            raise InputError(f"unexpected end of a one-hot file while copying {count} bytes")
        offset += copied
        count -= copied


def _write_split_X(dest: Path, pieces: list[tuple[Path, int, int]], rows: int, span: int,
                   channels: int = 4, dtype: type = np.uint8) -> None:
    """Concatenate the data of per-chromosome one-hot files into one .npy file.

    A split made of one chromosome's file is hard-linked, not copied: the X arrays are
    then written to disk once, which is most of the build's cost.
    """
    nonempty = [piece for piece in pieces if piece[2]]
    if len(nonempty) == 1:
        try:
            os.link(nonempty[0][0], dest)
            return
        except OSError:  # another file system, or no hard links: copy instead
            pass
    with open(dest, "wb") as sink:
        write_npy_header(sink, (rows, span, channels), dtype)
        sink.flush()
        for source_path, offset, count in nonempty:
            with open(source_path, "rb") as source:
                _copy_range(source.fileno(), sink.fileno(), offset, count)


class ChromRows:
    """The rows of a split table by chromosome and split (or part), as
    :func:`tfbinding.layout.rows_for_chrom` finds them, but without a pass over the whole
    table per call: the split step writes the rows chromosome by chromosome, so each
    chromosome's rows are one range, found once by binary search (a table whose rows are
    not so grouped falls back to ``rows_for_chrom``).
    """

    def __init__(self, table: Mapping[str, np.ndarray]):
        self.table = table
        chrom_index = table[keys.CHROM_INDEX]
        self.grouped = not np.any(chrom_index[1:] < chrom_index[:-1])
        chroms = table[keys.CHROMS].tolist()
        keys_ = np.arange(len(chroms), dtype=chrom_index.dtype)
        bounds = (np.searchsorted(chrom_index, keys_, "left"), np.searchsorted(chrom_index, keys_, "right"))
        self.bounds = {chrom: (int(bounds[0][i]), int(bounds[1][i])) for i, chrom in enumerate(chroms)}

    def span(self, chrom: str) -> slice:
        """The chromosome's rows as one slice (grouped tables only)."""
        return slice(*self.bounds[chrom])

    def __call__(self, chrom: str, value: int) -> np.ndarray:
        if not self.grouped:
            return rows_for_chrom(self.table, chrom, value)
        first, last = self.bounds[chrom]
        return first + np.flatnonzero(self.table[keys.SPLIT][first:last] == value)


def _split_pieces(table: Mapping[str, np.ndarray], chroms: list[str], value: int,
                  paths: Sequence[Path], span: int, channels: int | None,
                  itemsize: int, finder: ChromRows | None = None) -> list[tuple[Path, int, int]]:
    """(path, data offset, bytes) of each chromosome's file of one split, shapes checked."""
    pieces = []
    for chrom, path in zip(chroms, paths):
        stored = np.load(path, mmap_mode="r")
        offset, shape = stored.offset, stored.shape
        del stored
        rows = finder(chrom, value) if finder is not None else rows_for_chrom(table, chrom, value)
        expected = (len(rows), span, channels or shape[-1])
        if shape != expected:
            raise InputError(f"{path}: shape {shape}, but the split table of {chrom} needs "
                             f"{expected}; delete it and rerun to rebuild it")
        pieces.append((path, offset, expected[0] * span * expected[2] * itemsize))
    return pieces


def assemble_dataset(split_table: os.PathLike | str, onehot_prefixes: Sequence[os.PathLike | str],
                     out_dir: os.PathLike | str, provenance: dict[str, Any] | None = None,
                     signal_prefixes: Sequence[os.PathLike | str] | None = None,
                     signals: Sequence[Mapping[str, Any]] | None = None) -> dict:
    """Write ``{train,valid,test}/{X,y,w,ids}.npy`` and ``manifest.json``; the folder is
    swapped in whole, so a failed run leaves the previous dataset (or none).

    Parameters
    ----------
    split_table : the split step's table (see :mod:`tfbinding.layout`).
    onehot_prefixes : each chromosome's one-hot files, ``<prefix>.<split>.npy``, in the
        table's chromosome order (:func:`tfbinding.data.onehot.build_onehot`).
    out_dir : the dataset folder.
    provenance : extra manifest entries (:func:`provenance`).
    signal_prefixes : each chromosome's signal files, ``<prefix>.S.<split>.npy`` and
        ``<prefix>.S.json`` (:func:`tfbinding.data.signals.build_signals`), in the table's
        chromosome order; each split then gets ``S.npy`` (N, length + 2*flank, S) float32.
    signals : the channels, ``{"name", "transform", ...}`` each, for the manifest; a
        channel's ``"file"`` (the local bigWig) is recorded with its size and sha256 in
        ``inputs.signals``.

    Returns
    -------
    dict
        The manifest.
    """
    table = npz_memmaps(split_table)
    chroms = table[keys.CHROMS].tolist()
    if len(onehot_prefixes) != len(chroms):
        raise InputError(f"{split_table} lists {len(chroms)} chromosomes but {len(onehot_prefixes)} "
                         "one-hot prefixes were given")
    if keys.FOLDS in table:
        return _assemble_folds(table, onehot_prefixes, out_dir, provenance or {}, signal_prefixes, signals)
    with atomic_path(out_dir) as tmp:
        parts = {name: [(value, name)] for value, name in enumerate(SPLITS)}
        manifest = _write_dataset(tmp, table, table, parts, onehot_prefixes, provenance or {},
                                  signal_prefixes, signals)
    return manifest


def _write_dataset(folder: Path, parts_table: Mapping[str, np.ndarray], table: Mapping[str, np.ndarray],
                   parts: Mapping[str, list[tuple[int, str]]], onehot_prefixes, provenance: dict,
                   signal_prefixes, signals) -> dict:
    """One dataset folder: each split's arrays from its parts' per-chromosome files, rows
    chromosome by chromosome, part by part within one (without folds each split is its
    own part), and ``manifest.json``.

    ``parts_table`` is the split table (its :data:`~tfbinding.layout.SPLIT` the part of
    each row); ``table`` the same with the split of each row (0, 1, 2) and its weights.
    """
    chroms = table[keys.CHROMS].tolist()
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    span = length + 2 * flank
    summaries = {}
    finder = ChromRows(parts_table)
    # the kernel copies X (copy_file_range, without the GIL) while this thread writes the
    # labels and formats the ids: on a genome-size split each takes seconds
    with ThreadPoolExecutor(max_workers=1) as copier:
        copies = []
        for name, members in parts.items():
            split_folder = folder / name
            split_folder.mkdir(parents=True)
            pieces, signal_pieces, rows = [], [], []
            for index, chrom in enumerate(chroms):
                for value, part in members:
                    pieces += _split_pieces(parts_table, [chrom], value,
                                            [onehot_path(onehot_prefixes[index], part)], span, 4, 1, finder)
                    if signal_prefixes:
                        signal_pieces += _split_pieces(parts_table, [chrom], value,
                                                       [signal_path(signal_prefixes[index], part)], span,
                                                       len(signals) if signals else None, 4, finder)
                    rows.append(finder(chrom, value))
            rows = np.concatenate(rows)
            copies.append(copier.submit(_write_split_X, split_folder / array_file("X"), pieces, len(rows), span))
            if signal_prefixes:
                channels = len(signals) if signals else np.load(signal_pieces[0][0], mmap_mode="r").shape[-1]
                copies.append(copier.submit(_write_split_X, split_folder / array_file(SIGNALS), signal_pieces,
                                            len(rows), span, channels, np.float32))
            summaries[name] = _write_labels(split_folder, table, rows, chroms, length)
        for copy in copies:
            copy.result()  # a failed copy raises here
    manifest = _manifest(table, summaries, provenance)
    if signal_prefixes:
        manifest["signals"] = _signals_summary(chroms, signal_prefixes, signals)
        manifest.setdefault("inputs", {})["signals"] = _signal_inputs(signals or [])
    (folder / MANIFEST).write_text(strict_json(manifest))
    return manifest


def fold_table(table: Mapping[str, np.ndarray], fold: int) -> dict[str, np.ndarray]:
    """Fold ``fold``'s view of a K-fold split table: each row's split in that fold (0 train,
    1 valid, 2 test, -1 dropped) and that fold's weights.
    """
    folds = int(table[keys.FOLDS])
    split_of_part = np.full(folds + 1, -1, dtype=np.int8)  # index -1: dropped
    for value, name in enumerate(SPLITS):
        split_of_part[keys.fold_parts(fold, folds)[name]] = value
    return {**table, keys.SPLIT: split_of_part[table[keys.SPLIT]], keys.WEIGHTS: table[keys.WEIGHTS][fold]}


def _assemble_folds(table, onehot_prefixes, out_dir, provenance, signal_prefixes, signals) -> dict:
    """A K-fold dataset: ``fold<k>/`` dataset folders and the folds manifest (written last)."""
    folds = int(table[keys.FOLDS])
    part_name = keys.part_names(folds)
    chroms = table[keys.CHROMS].tolist()
    with atomic_path(out_dir) as tmp:
        fold_manifests = []
        for fold in range(folds):
            view = fold_table(table, fold)
            parts = {name: [(p, part_name[p]) for p in members]
                     for name, members in keys.fold_parts(fold, folds).items()}
            fold_info = {"fold": fold, "of": folds, **{f"{name}_parts": members
                                                       for name, members in keys.fold_parts(fold, folds).items()}}
            fold_manifests.append(_write_dataset(keys.fold_dir(tmp, fold), table, view, parts, onehot_prefixes,
                                                 {**provenance, "fold": fold_info}, signal_prefixes, signals))
        spec = json.loads(str(table[keys.SPEC]))
        positive = (table[keys.LABELS] == 1) if table[keys.LABELS].ndim == 1 else np.any(table[keys.LABELS] == 1,
                                                                                           axis=1)
        parts_summary = []
        for entry in spec["parts"]:
            rows = table[keys.SPLIT] == entry["part"]
            parts_summary.append({**entry, "windows": int(rows.sum()),
                                  "positives": int(np.count_nonzero(rows & positive)),
                                  "windows_by_chromosome": {chrom: int(np.count_nonzero(
                                      rows & (table[keys.CHROM_INDEX] == i))) for i, chrom in enumerate(chroms)}})
        first = fold_manifests[0]
        manifest = {
            "format": FOLDS_FORMAT, "folds": folds,
            "layout": ("fold<k>/ is a dataset folder (load_dataset(path, fold=k)): its test split is "
                       "part k, its valid split part (k + 1) mod K, its train split the other parts; "
                       "every kept window is in exactly one part, so in exactly one fold's test split"),
            **({"tasks": first["tasks"]} if "tasks" in first else {}),
            "window": first["window"],
            "split": {key: value for key, value in spec.items() if key != "parts"},
            "parts": parts_summary,
            "folds_summary": [{"fold": fold, **{f"{name}_parts": members for name, members in
                                                 keys.fold_parts(fold, folds).items()},
                               **{name: {"windows": m["splits"][name]["windows"],
                                         "positives": m["splits"][name]["positives"]} for name in SPLITS}}
                              for fold, m in enumerate(fold_manifests)],
            "totals": {"considered": first["totals"]["considered"], "windows": sum(p["windows"] for p in parts_summary),
                       "positives": sum(p["positives"] for p in parts_summary),
                       "dropped": first["totals"]["dropped"]},
            "chromosomes": {chrom: {key: value for key, value in info.items() if key != "windows_by_split"}
                            for chrom, info in first["chromosomes"].items()},
            "versions": first["versions"],
            **provenance,
        }
        (tmp / MANIFEST).write_text(strict_json(manifest))
    return manifest


def _task_summary(labels: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    """Counts and weights of one task's labels in one split (-1: masked)."""
    positives = int(np.count_nonzero(labels == 1))
    negatives = int(np.count_nonzero(labels == 0))
    return {"positives": positives, "negatives": negatives,
            "masked": int(np.count_nonzero(labels < 0)),
            "positive_fraction": positives / (positives + negatives) if positives + negatives else None,
            "weight_sum_positive": float(weights[labels == 1].sum(dtype=np.float64)),
            "weight_sum_negative": float(weights[labels == 0].sum(dtype=np.float64))}


def _write_labels(folder: Path, table: Mapping[str, np.ndarray], rows: np.ndarray,
                  chroms: list[str], length: int) -> dict[str, Any]:
    if table[keys.LABELS].ndim == 2:
        return _write_task_labels(folder, table, rows, chroms, length)
    labels = table[keys.LABELS][rows].astype(np.float32)
    weights = table[keys.WEIGHTS][rows]
    ids = _ids(table, rows, chroms, length)
    np.save(folder / array_file("y"), labels.reshape(-1, 1), allow_pickle=False)
    np.save(folder / array_file("w"), weights.reshape(-1, 1), allow_pickle=False)
    np.save(folder / array_file("ids"), ids, allow_pickle=False)
    positives = int(labels.sum())
    if positives in (0, len(rows)):
        log.warning("split %s has %s; metrics such as ROC AUC are undefined on it", folder.name,
                    "no positive window" if positives == 0 else "no negative window")
    return {
        "windows": len(rows), "positives": positives, "negatives": len(rows) - positives,
        "positive_fraction": positives / len(rows) if len(rows) else None,
        "weight_positive": float(weights[labels == 1][0]) if positives else None,
        "weight_negative": float(weights[labels == 0][0]) if len(rows) > positives else None,
        "weight_sum_positive": float(weights[labels == 1].sum(dtype=np.float64)),
        "weight_sum_negative": float(weights[labels == 0].sum(dtype=np.float64)),
    }


def _write_ids(folder: Path, table: Mapping[str, np.ndarray], rows: np.ndarray,
               chroms: list[str], length: int) -> None:
    np.save(folder / array_file("ids"), _ids(table, rows, chroms, length), allow_pickle=False)


def _ids(table: Mapping[str, np.ndarray], rows: np.ndarray, chroms: list[str], length: int) -> np.ndarray:
    """``chrom:start-end`` of ``rows``, chromosome by chromosome in ``chroms`` order. Rows
    that come grouped by chromosome (as the dataset takes them) are cut by binary search
    instead of one mask over all rows per chromosome.
    """
    starts = table[keys.STARTS][rows]
    chrom_index = table[keys.CHROM_INDEX][rows]
    if np.any(chrom_index[1:] < chrom_index[:-1]):
        pieces = [starts[chrom_index == i] for i in range(len(chroms))]
    else:
        cuts = np.searchsorted(chrom_index, np.arange(len(chroms) + 1, dtype=chrom_index.dtype))
        pieces = [starts[cuts[i]:cuts[i + 1]] for i in range(len(chroms))]
    return np.concatenate([format_ids(chrom, piece, piece + length) for chrom, piece in zip(chroms, pieces)])


def _write_task_labels(folder: Path, table: Mapping[str, np.ndarray], rows: np.ndarray,
                       chroms: list[str], length: int) -> dict[str, Any]:
    """y (N, T): 1 / 0, and 0 where masked; w (N, T): 0 where masked."""
    labels = table[keys.LABELS][rows]
    weights = np.ascontiguousarray(table[keys.WEIGHTS][rows], dtype=np.float32)
    np.save(folder / array_file("y"), (labels == 1).astype(np.float32), allow_pickle=False)
    np.save(folder / array_file("w"), weights, allow_pickle=False)
    _write_ids(folder, table, rows, chroms, length)
    tasks = table[keys.TASKS].tolist()
    per_task = {task: _task_summary(labels[:, i], weights[:, i]) for i, task in enumerate(tasks)}
    for task, summary in per_task.items():
        if summary["positives"] == 0 or summary["negatives"] == 0:
            log.warning("split %s, task %s has %s; its metrics such as ROC AUC are undefined",
                        folder.name, task, "no positive" if summary["positives"] == 0 else "no negative")
    positives = int(np.count_nonzero(np.any(labels == 1, axis=1)))
    return {"windows": len(rows), "positives": positives, "negatives": len(rows) - positives,
            "positive_fraction": positives / len(rows) if len(rows) else None,
            "positives_are": "windows positive for at least one task", "tasks": per_task}


def _signals_summary(chroms: list[str], prefixes: Sequence[os.PathLike | str],
                     signals: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The manifest's ``signals``: channels, and bases / chromosomes read as zero."""
    zeros = {}
    for chrom, prefix in zip(chroms, prefixes):
        zeros[chrom] = json.loads(signal_counts_path(prefix).read_text())
    channels = [{key: value for key, value in signal.items() if key != "file"} for signal in signals or []]
    return {"channels": channels, "array": array_file(SIGNALS),
            "dtype": "float32", "zeroed": zeros,
            "zeroed_total": {key: sum(entry[key] for entry in zeros.values())
                             for key in ("nan_bases", "missing_chromosome")}}


def _signal_inputs(signals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's ``inputs.signals``: each channel's bigWig (path, size, sha256) and the
    URL it was downloaded from (None for a local file), where the channel names its file.
    """
    entries = []
    for signal in signals:
        if signal.get("file"):
            source = signal.get("bigwig")
            source = source.get("source") if isinstance(source, Mapping) else source
            url = source if isinstance(source, str) and is_url(source) else None
            entries.append({"name": signal.get("name"), **describe_input(signal["file"]), "url": url})
    return entries


def _manifest(table: Mapping[str, np.ndarray], summaries: dict, provenance: dict[str, Any]) -> dict[str, Any]:
    per_chrom = json.loads(str(table[keys.PER_CHROM]))
    finder = ChromRows(table)
    for index, chrom in enumerate(table[keys.CHROMS].tolist()):
        mine = finder.span(chrom) if finder.grouped else table[keys.CHROM_INDEX] == index
        per_chrom[chrom]["labelled"] = len(table[keys.CHROM_INDEX][mine])
        labels = table[keys.LABELS][mine]
        per_chrom[chrom]["positives"] = (int(labels.sum()) if labels.ndim == 1
                                         else (labels == 1).sum(axis=0).tolist())
        per_chrom[chrom]["windows_by_split"] = {name: int(np.count_nonzero(table[keys.SPLIT][mine] == value))
                                                for value, name in enumerate(SPLITS)}
    dropped: dict[str, int] = {}
    for info in per_chrom.values():
        for reason, count in info["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    tasks = table[keys.TASKS].tolist() if keys.TASKS in table else None
    return {
        "format": FORMAT,
        **({"tasks": tasks} if tasks else {}),
        "window": {"length": length, "flank": flank, "input_length": length + 2 * flank,
                   "channels": "ACGT", "coordinates": "0-based, half-open (BED)"},
        "split": json.loads(str(table[keys.SPEC])),
        "splits": summaries,
        "totals": {"considered": sum(info["considered"] for info in per_chrom.values()),
                   "windows": sum(s["windows"] for s in summaries.values()),
                   "positives": sum(s["positives"] for s in summaries.values()),
                   "dropped": dropped},
        "chromosomes": per_chrom,
        "versions": software_versions(),
        **provenance,
    }
