"""Atomic file output: write beside the destination, then rename into place.

A job that fails (or is killed) leaves a ``.<name>.partial-<pid>`` file or folder behind at
worst, never a file under the final name that looks complete; the next write of the same
destination removes such leftovers whose process is gone.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

import numpy as np

log = logging.getLogger(__name__)


def _partial_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial-{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    return True


def remove_stale_partials(dest: str | os.PathLike) -> list[Path]:
    """Remove the ``.<name>.partial-<pid>`` and ``.<name>.old-<pid>`` leftovers of ``dest``
    whose process is dead (a killed job's, say); return what was removed.

    Leftovers of a live process (another build writing now) are kept.
    """
    dest = Path(dest)
    pattern = re.compile(rf"\.{re.escape(dest.name)}\.(?:partial|old)-([0-9]+)")
    removed = []
    try:
        entries = list(dest.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            _remove(entry)
            removed.append(entry)
            log.info("removed %s, left behind by an interrupted run", entry)
    return removed


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``dest`` (file or folder)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dest)
    tmp = _partial_name(dest)
    _remove(tmp)
    try:
        yield tmp
    except BaseException as err:
        try:
            _remove(tmp)
        except OSError:
            pass  # e.g. a read-only folder: the first error is the one to report
        if isinstance(err, OSError) and (err.filename is None or str(err.filename).startswith(str(tmp))):
            err.filename = str(dest)  # a failed write() names no file, or the temporary one
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


#: the key of :func:`strict_json` that says why a value is null
NULL_REASONS = "null_reasons"
_NAN_REASON = "not defined here (NaN), e.g. a split without positive or negative windows"
_INF_REASON = "no finite value (Infinity), e.g. no threshold reaches the target FDR"


def _finite(value: Any, pointer: str, found: dict[str, str]) -> Any:
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            found[pointer] = _NAN_REASON
            return None
        if math.isinf(value):
            found[pointer] = ("-" if value < 0 else "") + _INF_REASON
            return None
        return float(value)
    if isinstance(value, Mapping):
        return {key: _finite(item, f"{pointer}/{key}", found) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item, f"{pointer}/{i}", found) for i, item in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist(), pointer, found)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def strict_json(payload: Any, reasons: Mapping[str, str] | None = None) -> str:
    """``payload`` as indented, key-sorted JSON that strict parsers accept.

    NaN and ±Infinity (which ``json.dumps`` writes as bare ``NaN``/``Infinity``, which
    JavaScript's ``JSON.parse`` and Go reject) become ``null``. When ``payload`` is a dict,
    its :data:`NULL_REASONS` entry then maps each such value's JSON pointer (``/a/b``) to
    why it is null: ``reasons`` (by pointer) where the caller knows better, else a
    generic note.
    """
    found: dict[str, str] = {}
    clean = _finite(payload, "", found)
    if found and isinstance(clean, dict):
        clean[NULL_REASONS] = {pointer: (reasons or {}).get(pointer, why)
                               for pointer, why in found.items()}
    return json.dumps(clean, indent=2, sort_keys=True, allow_nan=False) + "\n"


def save_json(dest: str | os.PathLike, payload: Any, reasons: Mapping[str, str] | None = None) -> None:
    """Write ``payload`` as indented, key-sorted, strict JSON atomically (see :func:`strict_json`)."""
    text = strict_json(payload, reasons)
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
