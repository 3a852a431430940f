"""Read a built dataset: each split's X, y, w and ids, memory-mapped."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .split import SPLITS

ARRAYS = ("X", "y", "w", "ids")
SIGNALS = "S"  # (n, L + 2·flank, S) float32, when the dataset has signal channels
MANIFEST = "manifest.json"


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
        for name in SPLITS:
            arrays = {key: np.load(self.path / name / f"{key}.npy", mmap_mode="r") for key in ARRAYS}
            if (self.path / name / f"{SIGNALS}.npy").exists():
                arrays[SIGNALS] = np.load(self.path / name / f"{SIGNALS}.npy", mmap_mode="r")
            setattr(self, name, arrays)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name)['y'])}" for name in SPLITS)
        return f"Dataset({str(self.path)!r}: {sizes})"


def load_dataset(path: os.PathLike | str) -> Dataset:
    """Open a built dataset.

    Parameters
    ----------
    path : str or path
        The dataset folder, ``results/<name>/dataset``.

    Returns
    -------
    Dataset
        Its ``train``, ``valid`` and ``test`` arrays memory-mapped (nothing is read until
        used), and its ``manifest``.

    Raises
    ------
    InputError
        When the folder holds no ``manifest.json`` (no complete dataset).
    """
    return Dataset(path)
