"""Read a built dataset: each split's X, y, w and ids, memory-mapped."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tfbinding.errors import InputError
from tfbinding.layout import ARRAYS, MANIFEST, SIGNALS, SPLITS, array_path, fold_dir


class Dataset:
    """The splits of a built dataset, memory-mapped: ``data.train["X"]`` etc.

    Attributes
    ----------
    path : the dataset folder.
    manifest : the parsed ``manifest.json``.
    train, valid, test : dict of ``X`` (n, L + 2·flank, 4) uint8, ``y`` and ``w`` (n, T)
        float32 (T = 1 task, or one column per task in ``manifest["tasks"]``; w is 0 where
        a task's label is masked), ``ids`` (n,) unicode ``chrom:start-end``, and ``S``
        (n, L + 2·flank, S) float32 when the dataset has signal channels
        (``manifest["signals"]["channels"]``); each a read-only memory map.
    """

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not manifest.exists():
            raise InputError(f"{self.path}: no {MANIFEST}, so no complete dataset is here. "
                             "Build it with 'snakemake --cores 8'")
        self.manifest = json.loads(manifest.read_text())
        if "folds" in self.manifest:
            raise InputError(f"{self.path}: a dataset of {self.manifest['folds']} folds; open one fold "
                             f"with load_dataset(path, fold=k), k in 0 .. {self.manifest['folds'] - 1}")
        for name in SPLITS:
            arrays = {key: np.load(array_path(self.path, name, key), mmap_mode="r") for key in ARRAYS}
            if array_path(self.path, name, SIGNALS).exists():
                arrays[SIGNALS] = np.load(array_path(self.path, name, SIGNALS), mmap_mode="r")
            setattr(self, name, arrays)

    @property
    def tasks(self) -> list[str]:
        """The task names: ``manifest["tasks"]`` (``task0, task1, ...`` if it names none),
        or one unnamed task (``[""]``).
        """
        y = self.train["y"]
        count = int(y.shape[1]) if np.ndim(y) == 2 else 1
        if count == 1:
            return [""]
        names = self.manifest.get("tasks")
        if isinstance(names, dict):
            names = list(names)
        elif isinstance(names, list):
            names = [name if isinstance(name, str) else name.get("name") for name in names]
        return list(names) if names and len(names) == count else [f"task{i}" for i in range(count)]

    @property
    def channels(self) -> int:
        """Input channels: 4 (A, C, G, T) plus the dataset's signal channels, if any."""
        S = self.train.get(SIGNALS)
        return 4 + (int(S.shape[-1]) if S is not None else 0)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name)['y'])}" for name in SPLITS)
        return f"Dataset({str(self.path)!r}: {sizes})"


def dataset_folds(path: os.PathLike | str) -> int | None:
    """K for a dataset built with ``split.folds: K``, None for one split.

    Raises
    ------
    InputError
        When the folder holds no ``manifest.json``.
    """
    manifest = Path(path) / MANIFEST
    if not manifest.exists():
        raise InputError(f"{path}: no {MANIFEST}, so no complete dataset is here. "
                         "Build it with 'snakemake --cores 8'")
    return json.loads(manifest.read_text()).get("folds")


def load_dataset(path: os.PathLike | str, fold: int | None = None) -> Dataset:
    """Open a built dataset, or one fold of a K-fold dataset.

    Parameters
    ----------
    path : str or path
        The dataset folder, ``results/<name>/dataset``.
    fold : int or None, default None
        With ``split.folds: K``, the fold to open (0 .. K-1): ``<path>/fold<k>``, whose
        test split is part k (``load_dataset(path / "fold<k>")`` is the same).

    Returns
    -------
    Dataset
        Its ``train``, ``valid`` and ``test`` arrays memory-mapped (nothing is read until
        used), and its ``manifest``.

    Raises
    ------
    InputError
        When the folder holds no ``manifest.json`` (no complete dataset), a K-fold dataset
        opened without ``fold``, or a fold out of range or of a one-split dataset.
    """
    if fold is None:
        return Dataset(path)
    folds = dataset_folds(path)
    if folds is None or not 0 <= fold < folds:
        raise InputError(f"{path}: fold {fold} does not exist ("
                         + (f"folds 0 .. {folds - 1})" if folds else "a one-split dataset; omit fold)"))
    return Dataset(fold_dir(path, fold))
