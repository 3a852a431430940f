"""Atomic file output: write beside the destination, then rename into place.

A job that fails (or is killed) leaves a ``*.partial-<pid>`` file or folder behind at
worst, never a file under the final name that looks complete.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np


def _partial_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``dest`` (file or folder)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial_name(dest)
    _remove(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if dest.is_dir() and not dest.is_symlink():
        # os.replace cannot swap a folder over a non-empty folder: move the old one aside.
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(tmp, dest)
        _remove(old)
    else:
        os.replace(tmp, dest)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def save_npy(dest: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` atomically (no pickles)."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def write_npy_header(handle: BinaryIO, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Write numpy's version-1.0 ``.npy`` header for a C-ordered array; the data follows.

    For streamed output (a chunk at a time): a memory map (``open_memmap``) would write
    the same bytes, but dies of SIGBUS instead of raising ENOSPC when the disk fills.
    """
    np.lib.format.write_array_header_1_0(handle, {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
        "shape": tuple(shape)})


def save_npz(dest: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` atomically (uncompressed, so loads are fast)."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def save_json(dest: str | os.PathLike, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
