"""Merge the per-chromosome pieces into train/valid/test ``.npy`` splits, and load them.

Output layout (see the README's output contract)::

    <out>/{train,valid,test}/X.npy    (N, length + 2*flank, 4) uint8, channels A,C,G,T
    <out>/{train,valid,test}/y.npy    (N, 1) float32, 0/1
    <out>/{train,valid,test}/w.npy    (N, 1) float32
    <out>/{train,valid,test}/ids.npy  (N,) unicode 'chrom:start-end', 0-based half-open
    <out>/manifest.json
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.lib.format import open_memmap

from .atomic import atomic_path
from .chromosome import read_drops
from .errors import InputError
from .manifest import software_versions
from .splits import (BLOCK_BOUNDARY, SPLITS, block_split, chromosome_split, crosses_block,
                     random_split)
from .weights import balanced_weights, uniform_weights

log = logging.getLogger(__name__)

_ROWS_PER_CHUNK = 1 << 16


@dataclass(frozen=True)
class SplitSpec:
    """How windows are divided (the config's ``split`` section)."""

    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    valid: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    block_size: int = 1_000_000


@dataclass
class _Windows:
    """All labelled windows, concatenated over chromosomes in config order."""

    chroms: list[str]
    chrom_index: np.ndarray
    local_row: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    per_chrom: dict[str, dict[str, Any]] = field(default_factory=dict)


def _gather(chroms: Sequence[str], label_files: Sequence[os.PathLike | str]) -> _Windows:
    pieces_index, pieces_row, pieces_start, pieces_label = [], [], [], []
    per_chrom = {}
    for index, (chrom, path) in enumerate(zip(chroms, label_files)):
        with np.load(path) as archive:
            starts, labels = archive["starts"], archive["labels"]
            per_chrom[chrom] = {"considered": int(archive["considered"]), "peaks": int(archive["peaks"]),
                                "dropped": read_drops(archive)}
        pieces_index.append(np.full(len(starts), index, dtype=np.int32))
        pieces_row.append(np.arange(len(starts), dtype=np.int64))
        pieces_start.append(starts)
        pieces_label.append(labels)
    return _Windows(list(chroms), np.concatenate(pieces_index), np.concatenate(pieces_row),
                    np.concatenate(pieces_start), np.concatenate(pieces_label), per_chrom)


def _assign(windows: _Windows, spec: SplitSpec, length: int, flank: int) -> np.ndarray:
    """Split index per window, or -1 for windows dropped at block boundaries."""
    names = np.array(windows.chroms, dtype=str)[windows.chrom_index]
    if spec.method == "random":
        return random_split(windows.labels, list(spec.fractions), spec.seed)
    if spec.method == "chromosome":
        unknown = sorted(set(spec.valid + spec.test) - set(windows.chroms))
        if unknown:
            raise InputError(f"config split: held-out chromosome(s) {unknown} are not among "
                             f"chromosomes {windows.chroms}. Add them to 'chromosomes'")
        return chromosome_split(names, list(spec.valid), list(spec.test))
    if spec.method == "blocks":
        assignment = block_split(names, windows.starts, spec.block_size, list(spec.fractions), spec.seed)
        crossing = crosses_block(windows.starts, -flank, length + flank, spec.block_size)
        assignment[crossing] = -1
        for index, chrom in enumerate(windows.chroms):
            count = int(np.count_nonzero(crossing & (windows.chrom_index == index)))
            windows.per_chrom[chrom]["dropped"][BLOCK_BOUNDARY] = count
        return assignment
    raise InputError(f"config split.method: unknown method {spec.method!r} "
                     "(use random, chromosome or blocks)")


def _write_split(folder: Path, rows: np.ndarray, windows: _Windows, onehot: Sequence[np.ndarray],
                 weights_mode: str, length: int) -> dict[str, Any]:
    folder.mkdir(parents=True)
    span = onehot[0].shape[1] if onehot else length
    digests = {name: hashlib.sha256() for name in ("X", "y", "w", "ids")}
    X = open_memmap(folder / "X.npy", mode="w+", dtype=np.uint8, shape=(len(rows), span, 4))
    for first in range(0, len(rows), _ROWS_PER_CHUNK):
        chunk = rows[first:first + _ROWS_PER_CHUNK]
        block = np.empty((len(chunk), span, 4), dtype=np.uint8)
        for index in np.unique(windows.chrom_index[chunk]):
            mine = windows.chrom_index[chunk] == index
            block[mine] = onehot[index][windows.local_row[chunk[mine]]]
        X[first:first + len(chunk)] = block
        digests["X"].update(block.tobytes())
    X.flush()
    del X
    labels = windows.labels[rows].astype(np.float32)
    weights = balanced_weights(labels) if weights_mode == "balanced" else uniform_weights(labels)
    starts = windows.starts[rows]
    chrom_names = [windows.chroms[i] for i in windows.chrom_index[rows].tolist()]
    ids = np.array([f"{c}:{s}-{s + length}" for c, s in zip(chrom_names, starts.tolist())], dtype=str)
    arrays = {"y": labels.reshape(-1, 1), "w": weights.reshape(-1, 1), "ids": ids}
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array, allow_pickle=False)
        digests[name].update(np.ascontiguousarray(array).tobytes())
    positives = int(labels.sum())
    summary = {
        "windows": len(rows), "positives": positives, "negatives": len(rows) - positives,
        "positive_fraction": positives / len(rows) if len(rows) else 0.0,
        "weight_positive": float(weights[labels == 1][0]) if positives else None,
        "weight_negative": float(weights[labels == 0][0]) if len(rows) > positives else None,
        "weight_sum_positive": float(weights[labels == 1].sum(dtype=np.float64)),
        "weight_sum_negative": float(weights[labels == 0].sum(dtype=np.float64)),
        "data_sha256": {name: digest.hexdigest() for name, digest in digests.items()},
    }
    if positives in (0, len(rows)):
        log.warning("split %s has %s; metrics such as ROC AUC are undefined on it", folder.name,
                    "no positive window" if positives == 0 else "no negative window")
    return summary


def assemble_dataset(chroms: Sequence[str], label_files: Sequence[os.PathLike | str],
                     onehot_files: Sequence[os.PathLike | str], out_dir: os.PathLike | str, *,
                     length: int, flank: int = 0, split: SplitSpec = SplitSpec(),
                     weights: str = "balanced", provenance: dict[str, Any] | None = None) -> dict:
    """Split, weight and write the dataset folder atomically; return the manifest."""
    if not (len(chroms) == len(label_files) == len(onehot_files)):
        raise InputError("assemble_dataset: give one labels file and one one-hot file per chromosome")
    windows = _gather(chroms, label_files)
    assignment = _assign(windows, split, length, flank)
    onehot = [np.load(path, mmap_mode="r") for path in onehot_files]
    for chrom, array, path in zip(chroms, onehot, onehot_files):
        expected = np.count_nonzero(windows.chrom_index == chroms.index(chrom))
        if array.shape[0] != expected:
            raise InputError(f"{path}: holds {array.shape[0]} windows but the labels of {chrom} list "
                             f"{expected}; rebuild it (delete it and rerun)")
    summaries = {}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        for value, name in enumerate(SPLITS):
            rows = np.flatnonzero(assignment == value)
            if rows.size == 0:
                raise InputError(f"split {name!r} is empty: {len(assignment)} windows, split "
                                 f"{split}. Give more chromosomes or windows, or change 'split'")
            summaries[name] = _write_split(tmp / name, rows, windows, onehot, weights, length)
        manifest = _manifest(windows, summaries, split, weights, length, flank, provenance or {})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _manifest(windows: _Windows, summaries: dict, split: SplitSpec, weights: str, length: int,
              flank: int, provenance: dict[str, Any]) -> dict[str, Any]:
    per_chrom = windows.per_chrom
    for index, chrom in enumerate(windows.chroms):
        mine = windows.chrom_index == index
        per_chrom[chrom]["labelled"] = int(np.count_nonzero(mine))
        per_chrom[chrom]["positives"] = int(windows.labels[mine].sum())
    dropped: dict[str, int] = {}
    for info in per_chrom.values():
        for reason, count in info["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    return {
        "format": "tfbinding-dataset/1",
        "window": {"length": length, "flank": flank, "input_length": length + 2 * flank,
                   "channels": "ACGT", "coordinates": "0-based, half-open (BED)"},
        "split": {"method": split.method, "fractions": list(split.fractions), "seed": split.seed,
                  "valid": list(split.valid), "test": list(split.test), "block_size": split.block_size},
        "weights": weights,
        "splits": summaries,
        "totals": {"considered": sum(info["considered"] for info in per_chrom.values()),
                   "windows": sum(s["windows"] for s in summaries.values()),
                   "positives": sum(s["positives"] for s in summaries.values()),
                   "dropped": dropped},
        "chromosomes": per_chrom,
        "versions": software_versions(),
        **provenance,
    }


class Dataset:
    """The splits of a built dataset, memory-mapped: ``data.train["X"]`` etc."""

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        manifest = self.path / "manifest.json"
        if not manifest.exists():
            raise InputError(f"{self.path}: no manifest.json, so no complete dataset is here. "
                             "Build it with 'snakemake --cores 8'")
        self.manifest = json.loads(manifest.read_text())
        for name in SPLITS:
            setattr(self, name, {key: np.load(self.path / name / f"{key}.npy", mmap_mode="r")
                                 for key in ("X", "y", "w", "ids")})

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name)['y'])}" for name in SPLITS)
        return f"Dataset({str(self.path)!r}: {sizes})"


def load_dataset(path: os.PathLike | str) -> Dataset:
    """Open ``results/<name>/dataset``: each split's X, y, w and ids, memory-mapped."""
    return Dataset(path)
