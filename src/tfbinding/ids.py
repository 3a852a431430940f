"""Window ids ``chrom:start-end`` (0-based, half-open, as in BED), built without Python loops."""
from __future__ import annotations

import numpy as np


def _digit_count(values: np.ndarray) -> np.ndarray:
    count = np.ones(values.shape, dtype=np.int64)
    limit = 10
    while (more := values >= limit).any():
        count += more
        limit *= 10
    return count


def _write_number(columns: np.ndarray, first: int, rows: slice, values: np.ndarray, digits: int) -> None:
    for place in range(digits - 1, -1, -1):
        values, digit = np.divmod(values, 10)
        columns[first + place, rows] = digit + ord("0")


def format_ids(chrom: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``chrom:start-end`` for each window, as a fixed-width unicode array.

    Parameters
    ----------
    chrom : str
        The chromosome name, as in the FASTA.
    starts, ends : array of int
        0-based, half-open coordinates (as in BED).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` unicode ids.

    Notes
    -----
    Equal to ``np.array([f"{chrom}:{s}-{e}" for s, e in zip(starts, ends)])``, but faster:
    digits are written as bytes one character position at a time (each position's bytes
    contiguous), run by run of rows whose numbers have the same digit counts (few runs
    when the starts are sorted), and widened to code points in one pass.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    prefix = np.array([ord(char) for char in f"{chrom}:"], dtype=np.uint32)  # any name, not just ASCII
    n_start, n_end = _digit_count(starts), _digit_count(ends)
    digits_width = int(n_start.max(initial=1)) + 1 + int(n_end.max(initial=1))
    # the digits, column by column: each column is one contiguous row of this array, so
    # every write is sequential; NUL pads the shorter ids
    columns = np.zeros((digits_width, len(starts)), dtype=np.uint8)
    groups = n_start * 100 + n_end
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(groups)) + 1, [len(groups)])).tolist()
    for low, high in zip(bounds[:-1], bounds[1:]):
        if low == high:
            continue
        digits_start, digits_end = divmod(int(groups[low]), 100)
        rows = slice(low, high)
        _write_number(columns, 0, rows, starts[low:high], digits_start)
        columns[digits_start, rows] = ord("-")
        _write_number(columns, digits_start + 1, rows, ends[low:high], digits_end)
    width = len(prefix) + digits_width
    text = np.empty((len(starts), width), dtype="<u4")  # one UCS-4 code point per character, as '<U' stores
    text[:, :len(prefix)] = prefix
    text[:, len(prefix):] = columns.T
    return text.view(f"<U{width}").reshape(-1)


def parse_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``chrom:start-end`` ids into their parts (the inverse of :func:`format_ids`).

    The name ends at the *last* ``:``, so names that hold one (GRCh38's HLA contigs,
    ``HLA-A*01:01:01:01``) come back whole.

    Parameters
    ----------
    ids : array of str

    Returns
    -------
    chroms : numpy.ndarray of str
    starts, ends : numpy.ndarray of int64, 0-based half-open

    Raises
    ------
    ValueError
        When an id has no ``start-end`` part.
    """
    ids = np.asarray(ids, dtype=str)
    parts = np.char.rpartition(ids, ":").reshape(-1, 3)
    spans = np.char.partition(parts[:, 2], "-").reshape(-1, 3)
    bad = (parts[:, 1] != ":") | (spans[:, 1] != "-")
    if bad.any():
        raise ValueError(f"id {str(ids.reshape(-1)[np.flatnonzero(bad)[0]])!r} is not 'chrom:start-end'")
    shape = ids.shape
    return (parts[:, 0].reshape(shape), spans[:, 0].astype(np.int64).reshape(shape),
            spans[:, 2].astype(np.int64).reshape(shape))
