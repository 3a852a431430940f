"""Which windows to explain: the dataset's windows of some splits, or a BED's windows.

A :class:`WindowSet` carries the windows' one-hot rows, ids, labels and signals to the
attribution engine (:mod:`tfbinding.interpret.attribution`).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.data.encoding import centred_windows
from tfbinding.errors import InputError
from tfbinding.io.bigwig import SignalTracks
from tfbinding.layout import MANIFEST, SIGNALS, SPLITS, array_path, fold_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowSet:
    """One-hot windows to explain, with their names.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n, L, 4)`` uint8, channels A, C, G, T; N is an all-zero row.
    ids : numpy.ndarray
        ``(n,)`` unicode ``chrom:start-end`` (0-based, half-open).
    source : str
        Where the windows came from, for the output's provenance.
    S : numpy.ndarray or None
        ``(n, L, S)`` float32 signal channels, row for row with ``X`` (a signal model's).
    """

    X: np.ndarray
    ids: np.ndarray
    source: str = ""
    S: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


# ---------------------------------------------------------------------------------------
# windows


def windows_from_dataset(dataset_dir: str | os.PathLike, splits: Sequence[str] = ("test",),
                         positives_only: bool = True, max_windows: int | None = None,
                         seed: int = 0, task: int = 0, signals: bool = False) -> WindowSet:
    """Windows of a built dataset: by default, the positives of the test split.

    Parameters
    ----------
    dataset_dir : path
        A dataset folder, ``<dataset>/{train,valid,test}/{X,y,ids}.npy`` (read as memory
        maps; only the chosen rows are read). A dataset of ``split.folds: K`` (its
        ``manifest.json`` has ``folds``) gives every part's windows once, part by part
        (the test split of ``fold0`` .. ``fold<K-1>``), whatever ``splits``: the K folds'
        splits of any kind cover every window, and a fold ensemble trained on them all.
    splits : sequence of str, default ("test",)
        Which splits to take windows from, concatenated in this order.
    positives_only : bool, default True
        Keep only windows labelled 1.
    max_windows : int or None, default None
        Keep at most this many (a seeded random subset, kept in genome order).
    seed : int, default 0
        Seed of that subset.
    task : int, default 0
        The label column (task) whose positives are taken, for a multi-task dataset.
    signals : bool, default False
        Also read the rows' signal channels (``S.npy``), for a signal model.

    Returns
    -------
    WindowSet

    Raises
    ------
    InputError
        When a split's files are missing or of mismatched lengths, or no window is left.
    """
    root = Path(dataset_dir)
    for split in splits:
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    folds = _dataset_folds(root)
    sources = ([(fold_dir(root, k), "test") for k in range(folds)] if folds
               else [(root, split) for split in splits])
    if folds:
        log.info("%s: a dataset of %d folds; explaining every part's windows (each fold's test "
                 "split), not only splits %s", root, folds, ", ".join(splits))
        splits = ("all parts",)
    chosen: list[tuple[dict, np.ndarray, np.ndarray]] = []  # ({X, S} memory maps, ids, rows)
    for base, split in sources:
        folder = base / split
        try:
            arrays = {"X": np.load(array_path(base, split, "X"), mmap_mode="r")}
            if signals:
                arrays[SIGNALS] = np.load(array_path(base, split, SIGNALS), mmap_mode="r")
            y = np.load(array_path(base, split, "y"), mmap_mode="r")
            ids = np.load(array_path(base, split, "ids"), mmap_mode="r")
        except FileNotFoundError as err:
            raise InputError(f"{folder}: no complete split here ({Path(err.filename).name} is "
                             "missing). Build the dataset first (with the model's signals, for a "
                             "signal model)") from err
        y = y.reshape(len(y), -1)
        if not task < y.shape[1]:
            raise InputError(f"{folder}: y has {y.shape[1]} task column(s), no task {task}. Explain "
                             "the model on the dataset it was trained on")
        if not len(arrays["X"]) == len(y) == len(ids) == len(arrays.get(SIGNALS, ids)):
            raise InputError(f"{folder}: X, y, ids (and S) have different lengths "
                             f"({len(arrays['X'])}, {len(y)}, {len(ids)}). Rebuild the dataset")
        y = y[:, task]
        rows = np.flatnonzero(y > 0.5) if positives_only else np.arange(len(y))
        chosen.append((arrays, ids, rows))
    total = sum(len(rows) for _, _, rows in chosen)
    if max_windows is not None and total > max_windows:
        # a seeded subset over all splits, drawn before any window is read
        keep = np.zeros(total, dtype=bool)
        keep[np.random.default_rng(seed).choice(total, max_windows, replace=False)] = True
        bounds = np.cumsum([0] + [len(rows) for _, _, rows in chosen])
        chosen = [(arrays, ids, rows[keep[low:high]])
                  for (arrays, ids, rows), low, high in zip(chosen, bounds[:-1], bounds[1:], strict=True)]
    if not sum(len(rows) for _, _, rows in chosen):
        raise InputError(f"{root}: no {'positive ' if positives_only else ''}window in split(s) "
                         f"{', '.join(splits)}. Choose other splits")
    X = np.concatenate([np.asarray(arrays["X"][rows]) for arrays, _, rows in chosen])
    S = (np.concatenate([np.asarray(arrays[SIGNALS][rows], dtype=np.float32) for arrays, _, rows in chosen])
         if signals else None)
    ids = np.concatenate([np.asarray(ids[rows]).astype(str) for _, ids, rows in chosen])
    what = "positives" if positives_only else "windows"
    return WindowSet(X, ids, f"{root} ({what} of {', '.join(splits)})", S)


def _dataset_folds(root: Path) -> int | None:
    """K of a ``split.folds`` dataset's manifest; None for one split or no manifest."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("folds") or None


def windows_from_bed(bed: str | os.PathLike, fasta: str | os.PathLike, length: int,
                     aliases: Mapping[str, str] | None = None,
                     signals: SignalTracks | None = None) -> WindowSet:
    """Windows around the regions of a BED file, encoded from the FASTA.

    Each region ``[start, end)`` is resized to ``length`` bp (the model's full input,
    flanks included) around its centre ``c = (start + end) // 2``: the window is
    ``[c - length // 2, c - length // 2 + length)``, and bases beyond a chromosome's ends
    become all-zero rows. The ids name the regions as the BED gives them
    (``chrom:start-end``, 0-based, half-open), in the BED's order.

    Parameters
    ----------
    bed : path
        BED3+ or narrowPeak, plain or gzip (read strictly by
        :func:`tfbinding.io.bed.read_intervals`).
    fasta : path
        A prepared, indexed FASTA (:func:`tfbinding.data.prepare_genome.prepare_fasta`).
    length : int
        Window length: the model's input length.
    aliases : mapping or None, default None
        Maps names used in the BED to the FASTA's (``{"22": "chr22"}``).
    signals : SignalTracks or None, default None
        A signal model's bigWigs, read over the same spans (``WindowSet.S``).

    Returns
    -------
    WindowSet

    Raises
    ------
    InputError
        Malformed BED lines, regions past a chromosome's end, no chromosome in common, a
        chromosome a bigWig lacks (unless ``signals.missing == "zero"``).
    """
    from tfbinding.ids import format_ids
    from tfbinding.io.bed import read_intervals
    from tfbinding.io.fasta import Genome

    genome = Genome(fasta)
    regions = read_intervals(bed, genome.sizes, aliases, what="regions")
    if not len(regions):
        raise InputError(f"{bed}: no region to explain. Give a BED with at least one region")
    centres = (regions.start + regions.end) // 2
    X = np.zeros((len(regions), length, 4), dtype=np.uint8)
    S = np.zeros((len(regions), length, len(signals)), dtype=np.float32) if signals else None
    names = []
    for chrom in dict.fromkeys(regions.chrom.tolist()):
        rows = np.flatnonzero(regions.chrom == chrom)
        X[rows] = centred_windows(genome.sequence(chrom), centres[rows], length)
        if signals:
            with signals.open(chrom, genome.sizes[chrom]) as reader:
                S[rows] = reader.read(centres[rows] - length // 2, length)
        names.append((rows, format_ids(chrom, regions.start[rows], regions.end[rows])))
    ids = np.zeros(len(regions), dtype=f"<U{max(len(text[0]) for _, text in names) + 1}")
    for rows, text in names:
        ids[rows] = text
    return WindowSet(X, ids, f"{bed} (centred, {length} bp)", S)
