"""Merge the per-chromosome pieces into train/valid/test ``.npy`` splits, and load them.

Output layout (see the README's output contract)::

    <out>/{train,valid,test}/X.npy    (N, length + 2*flank, 4) uint8, channels A,C,G,T
    <out>/{train,valid,test}/y.npy    (N, 1) float32, 0/1
    <out>/{train,valid,test}/w.npy    (N, 1) float32
    <out>/{train,valid,test}/ids.npy  (N,) unicode 'chrom:start-end', 0-based half-open
    <out>/manifest.json
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .atomic import atomic_path, save_npz
from .chromosome import onehot_path, read_drops
from .errors import InputError
from .ids import format_ids
from .manifest import software_versions
from .npyio import npy_data_offset, write_npy_header
from .splits import (BLOCK_BOUNDARY, SPLITS, TEST, TRAIN, VALID, block_split, chromosome_split,
                     crosses_block, random_split, rows_for_chrom)
from .weights import balanced_weights, uniform_weights

log = logging.getLogger(__name__)

NEGATIVE_DOWNSAMPLING = "negative_downsampling"


@dataclass(frozen=True)
class SplitSpec:
    """How windows are divided (the config's ``split`` section)."""

    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    valid: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    block_size: int = 1_000_000
    negative_fraction: float = 1.0


@dataclass
class _Windows:
    """All labelled windows, concatenated over chromosomes in config order."""

    chroms: list[str]
    chrom_index: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    per_chrom: dict[str, dict[str, Any]] = field(default_factory=dict)


def _gather(chroms: Sequence[str], label_files: Sequence[os.PathLike | str]) -> _Windows:
    pieces_index, pieces_start, pieces_label = [], [], []
    per_chrom = {}
    for index, (chrom, path) in enumerate(zip(chroms, label_files)):
        with np.load(path) as archive:
            starts, labels = archive["starts"], archive["labels"]
            per_chrom[chrom] = {"considered": int(archive["considered"]), "peaks": int(archive["peaks"]),
                                "dropped": read_drops(archive)}
        pieces_index.append(np.full(len(starts), index, dtype=np.int32))
        pieces_start.append(starts)
        pieces_label.append(labels)
    return _Windows(list(chroms), np.concatenate(pieces_index),
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


def _split_weights(labels: np.ndarray, assignment: np.ndarray, mode: str,
                   negative_fraction: float = 1.0) -> np.ndarray:
    weights = np.zeros(len(labels), dtype=np.float32)
    for value in range(len(SPLITS)):
        rows = assignment == value
        if mode == "balanced":
            weights[rows] = balanced_weights(labels[rows])
        else:
            weights[rows] = uniform_weights(labels[rows])
            if value != TEST:  # kept negatives stand for the ones dropped by downsampling
                weights[rows & (labels == 0)] /= negative_fraction
    return weights


def _downsample_negatives(windows: _Windows, assignment: np.ndarray, spec: SplitSpec) -> None:
    """Keep a seeded ``negative_fraction`` of the negatives of train and valid (test stays
    whole, so evaluation sees the real class balance); mark the others -1 and count them."""
    if spec.negative_fraction >= 1.0:
        return
    rng = np.random.default_rng([spec.seed, 1])
    dropped = np.zeros(len(assignment), dtype=bool)
    for value in (TRAIN, VALID):
        negatives = np.flatnonzero((assignment == value) & (windows.labels == 0))
        dropped[negatives[rng.random(len(negatives)) >= spec.negative_fraction]] = True
    assignment[dropped] = -1
    for index, chrom in enumerate(windows.chroms):
        count = int(np.count_nonzero(dropped & (windows.chrom_index == index)))
        windows.per_chrom[chrom]["dropped"][NEGATIVE_DOWNSAMPLING] = count


def split_windows(chroms: Sequence[str], label_files: Sequence[os.PathLike | str],
                  out: os.PathLike | str, *, length: int, flank: int = 0,
                  split: SplitSpec = SplitSpec(), weights: str = "balanced") -> dict[str, Any]:
    """Assign every labelled window to a split and weight it; write the split table (.npz).

    The table lists all windows in chromosome order, then by start: ``chrom_index``,
    ``starts``, ``labels``, ``split`` (0 train, 1 valid, 2 test, -1 dropped at a block
    boundary or by negative downsampling) and ``weights``. Returns the per-chromosome summary.
    """
    windows = _gather(chroms, label_files)
    assignment = _assign(windows, split, length, flank)
    _downsample_negatives(windows, assignment, split)
    for value, name in enumerate(SPLITS):
        if not np.any(assignment == value):
            raise InputError(f"split {name!r} is empty: {len(assignment)} windows, {split}. "
                             "Give more chromosomes or windows, or change 'split'")
    table = {"chroms": np.array(windows.chroms, dtype=str), "chrom_index": windows.chrom_index,
             "starts": windows.starts, "labels": windows.labels, "split": assignment,
             "weights": _split_weights(windows.labels, assignment, weights, split.negative_fraction),
             "length": np.int64(length), "flank": np.int64(flank),
             "per_chrom": np.array(json.dumps(windows.per_chrom, sort_keys=True)),
             "spec": np.array(json.dumps({**asdict(split), "weights": weights}, sort_keys=True))}
    save_npz(out, **table)
    return windows.per_chrom


def _copy_range(source: int, sink: int, offset: int, count: int) -> None:
    """Copy bytes between open files in the kernel (no trip through user memory)."""
    while count:
        try:
            copied = os.copy_file_range(source, sink, count, offset)
        except OSError:  # e.g. across file systems on old kernels
            copied = os.write(sink, os.pread(source, min(count, 64 << 20), offset))
        if copied == 0:
            raise InputError(f"unexpected end of a one-hot file while copying {count} bytes")
        offset += copied
        count -= copied


def _write_split_X(dest: Path, pieces: list[tuple[Path, int, int]], rows: int, span: int) -> None:
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
        write_npy_header(sink, (rows, span, 4), np.uint8)
        sink.flush()
        for source_path, offset, count in nonempty:
            with open(source_path, "rb") as source:
                _copy_range(source.fileno(), sink.fileno(), offset, count)


def assemble_dataset(split_table: os.PathLike | str, onehot_prefixes: Sequence[os.PathLike | str],
                     out_dir: os.PathLike | str, provenance: dict[str, Any] | None = None) -> dict:
    """Write ``{train,valid,test}/{X,y,w,ids}.npy`` and ``manifest.json`` atomically.

    ``onehot_prefixes`` name each chromosome's one-hot files (in the table's chromosome
    order), ``<prefix>.<split>.npy``, as written by
    :func:`tfbinding.chromosome.build_onehot`.
    """
    with np.load(split_table) as archive:
        table = {key: archive[key] for key in archive.files}
    chroms = table["chroms"].tolist()
    length, flank = int(table["length"]), int(table["flank"])
    span = length + 2 * flank
    if len(onehot_prefixes) != len(chroms):
        raise InputError(f"{split_table} lists {len(chroms)} chromosomes but {len(onehot_prefixes)} "
                         "one-hot prefixes were given")
    summaries = {}
    with atomic_path(out_dir) as tmp:
        for value, name in enumerate(SPLITS):
            folder = tmp / name
            folder.mkdir(parents=True)
            pieces = []
            for chrom, prefix in zip(chroms, onehot_prefixes):
                path = onehot_path(prefix, name)
                offset, shape = npy_data_offset(path)
                expected = (len(rows_for_chrom(table, chrom, value)), span, 4)
                if shape != expected:
                    raise InputError(f"{path}: shape {shape}, but the split table of {chrom} needs "
                                     f"{expected}; delete it and rerun to rebuild it")
                pieces.append((path, offset, expected[0] * span * 4))
            rows = np.flatnonzero(table["split"] == value)
            _write_split_X(folder / "X.npy", pieces, len(rows), span)
            summaries[name] = _write_labels(folder, table, rows, chroms, length)
        manifest = _manifest(table, summaries, provenance or {})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write_labels(folder: Path, table: Mapping[str, np.ndarray], rows: np.ndarray,
                  chroms: list[str], length: int) -> dict[str, Any]:
    labels = table["labels"][rows].astype(np.float32)
    weights = table["weights"][rows]
    starts = table["starts"][rows]
    chrom_index = table["chrom_index"][rows]
    ids = np.concatenate([format_ids(chrom, starts[chrom_index == i], starts[chrom_index == i] + length)
                          for i, chrom in enumerate(chroms)])
    np.save(folder / "y.npy", labels.reshape(-1, 1), allow_pickle=False)
    np.save(folder / "w.npy", weights.reshape(-1, 1), allow_pickle=False)
    np.save(folder / "ids.npy", ids, allow_pickle=False)
    positives = int(labels.sum())
    if positives in (0, len(rows)):
        log.warning("split %s has %s; metrics such as ROC AUC are undefined on it", folder.name,
                    "no positive window" if positives == 0 else "no negative window")
    return {
        "windows": len(rows), "positives": positives, "negatives": len(rows) - positives,
        "positive_fraction": positives / len(rows),
        "weight_positive": float(weights[labels == 1][0]) if positives else None,
        "weight_negative": float(weights[labels == 0][0]) if len(rows) > positives else None,
        "weight_sum_positive": float(weights[labels == 1].sum(dtype=np.float64)),
        "weight_sum_negative": float(weights[labels == 0].sum(dtype=np.float64)),
    }


def _manifest(table: Mapping[str, np.ndarray], summaries: dict, provenance: dict[str, Any]) -> dict[str, Any]:
    per_chrom = json.loads(str(table["per_chrom"]))
    for index, chrom in enumerate(table["chroms"].tolist()):
        mine = table["chrom_index"] == index
        per_chrom[chrom]["labelled"] = int(np.count_nonzero(mine))
        per_chrom[chrom]["positives"] = int(table["labels"][mine].sum())
        per_chrom[chrom]["windows_by_split"] = {name: int(np.count_nonzero(table["split"][mine] == value))
                                                for value, name in enumerate(SPLITS)}
    dropped: dict[str, int] = {}
    for info in per_chrom.values():
        for reason, count in info["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    length, flank = int(table["length"]), int(table["flank"])
    return {
        "format": "tfbinding-dataset/1",
        "window": {"length": length, "flank": flank, "input_length": length + 2 * flank,
                   "channels": "ACGT", "coordinates": "0-based, half-open (BED)"},
        "split": json.loads(str(table["spec"])),
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
