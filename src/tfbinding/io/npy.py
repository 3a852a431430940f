"""Rows of a memory-mapped ``.npy`` array, read with ``pread`` instead of through the map.

Reading rows through a memory map maps the file's pages into the process, and they count
towards its resident set until the kernel needs the memory. On current Linux kernels a
fault maps the whole page-cache folio around it (up to megabytes once readahead has built
large folios), so a gather of a few thousand rows drawn at random maps most of a
gigabyte-sized split: the resident set grows to the size of the file, whatever is read.
``pread`` copies the rows out of the page cache without mapping anything, so a process
that trains on or scores a split larger than RAM keeps a bounded resident set. Runs of
consecutive rows are read with one call each, so a sequential pass costs a few calls per
block; rows drawn at random cost one call each (2–3 µs a row from the page cache, against
1–2 µs through the map), so arrays under :data:`MAP_BELOW_BYTES` are still read through the map: what they
can add to the resident set is bounded by their size.
"""
from __future__ import annotations

import mmap
import os

import numpy as np

#: arrays smaller than this are read through their memory map (faster for rows drawn at
#: random); larger ones with pread
MAP_BELOW_BYTES = 512 * 2**20


def _file_position(array: np.memmap) -> int | None:
    """Where ``array``'s first byte lies in its file, or None when it is not a C-contiguous
    view of a memory map (then it is indexed as usual).
    """
    handle = getattr(array, "_mmap", None)
    if handle is None or getattr(array, "filename", None) is None or not array.flags.c_contiguous:
        return None
    # np.memmap maps from the allocation-granularity boundary below its offset; a view
    # (a slice of the loaded array) keeps the map and the offset of the array it came from
    base = np.frombuffer(handle, dtype=np.uint8).ctypes.data
    map_start = int(array.offset) - int(array.offset) % mmap.ALLOCATIONGRANULARITY
    return map_start + (array.ctypes.data - base)


def read_rows(array: np.ndarray, rows: np.ndarray, map_below: int | None = None) -> np.ndarray:
    """``array[rows]`` as an in-memory array; a memory map's rows are read with ``pread``.

    Parameters
    ----------
    array : numpy.ndarray or numpy.memmap
        Rows along the first axis (e.g. X, ``(n, L, 4)`` uint8, loaded with ``mmap_mode="r"``).
    rows : array of int
        Row indices in ``[0, len(array))``, in any order; runs of consecutive indices are
        read with one call.
    map_below : int, optional
        Arrays of fewer bytes are indexed through their memory map (default
        :data:`MAP_BELOW_BYTES`, read when called).

    Returns
    -------
    numpy.ndarray
        ``(len(rows), *array.shape[1:])``, equal to ``np.asarray(array[rows])``.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    position = _file_position(array) if isinstance(array, np.memmap) else None
    if position is None or not len(rows) or array.nbytes < (MAP_BELOW_BYTES if map_below is None else map_below):
        return np.asarray(array[rows])
    if rows.min() < 0 or rows.max() >= len(array):
        raise IndexError(f"rows outside [0, {len(array)}) of {array.filename}")
    out = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
    row_bytes = out.strides[0] if out.ndim > 1 else out.itemsize
    buffer = memoryview(out.reshape(-1).view(np.uint8))
    starts = np.flatnonzero(np.diff(rows, prepend=rows[0] - 2) != 1)  # where a run begins
    lengths = np.diff(np.append(starts, len(rows)))
    fd = os.open(array.filename, os.O_RDONLY)
    try:
        for first, count, row in zip(starts.tolist(), lengths.tolist(), rows[starts].tolist()):
            done, size = 0, count * row_bytes
            while done < size:
                got = os.preadv(fd, [buffer[first * row_bytes + done:first * row_bytes + size]],
                                position + row * row_bytes + done)
                if got == 0:
                    raise OSError(f"{array.filename}: the file ended before row {row + count - 1}")
                done += got
    finally:
        os.close(fd)
    return out
