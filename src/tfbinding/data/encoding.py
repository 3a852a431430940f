"""One-hot encoding: channels A, C, G, T; case-insensitive; N and IUPAC codes are all-zero.

The encoder maps each ASCII byte to a 4-byte row through a 256-entry table viewed as
uint32, so one fancy-index per base does the whole job (no per-base Python). Pure numpy,
shared by the onehot and windows steps, prediction, interpretation and variant scoring.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tfbinding.errors import InputError

ALPHABET = b"ACGT"
#: bytes that may appear in a sequence: nucleotides, IUPAC ambiguity codes, gaps
VALID_BYTES = b"ACGTUNRYSWKMBDHV-.acgtunryswkmbdhv"

ONE_HOT_TABLE = np.zeros((256, 4), dtype=np.uint8)
for _channel, _base in enumerate(ALPHABET):
    ONE_HOT_TABLE[_base, _channel] = 1
    ONE_HOT_TABLE[ord(chr(_base).lower()), _channel] = 1
_TABLE32 = ONE_HOT_TABLE.view(np.uint32).ravel()

IS_ACGT = ONE_HOT_TABLE.any(axis=1)
IS_VALID = np.zeros(256, dtype=bool)
IS_VALID[np.frombuffer(VALID_BYTES, np.uint8)] = True


#: translate table: A, C, G, T (any case) -> 0; N, IUPAC codes, gaps -> 1; anything else -> 2
_CLASS_TABLE = bytes(0 if IS_ACGT[byte] else 1 if IS_VALID[byte] else 2 for byte in range(256))


def base_classes(sequence: np.ndarray, name: str) -> np.ndarray:
    """0 where the base is A, C, G or T (any case), 1 for N, IUPAC codes and gaps.

    Fails on any other byte (a binary or corrupt FASTA), naming ``name`` and the position.
    One ``bytes.translate`` pass: faster than a numpy lookup on whole chromosomes.
    """
    classes = sequence.tobytes().translate(_CLASS_TABLE)
    where = classes.find(2)
    if where != -1:
        raise InputError(f"{name}: position {where} (0-based) holds {chr(sequence[where])!r}, "
                         f"which is no nucleotide or IUPAC code ({classes.count(2)} such bytes). "
                         "Check that the FASTA is not corrupt")
    return np.frombuffer(classes, dtype=np.uint8)


def one_hot(sequence: bytes | str | np.ndarray) -> np.ndarray:
    """Encode one sequence as a ``(len, 4)`` uint8 array."""
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii")
    codes = np.frombuffer(sequence, dtype=np.uint8) if isinstance(sequence, bytes) else sequence
    return ONE_HOT_TABLE[codes]


def iter_encoded_windows(sequence: np.ndarray, starts: np.ndarray, length: int, flank: int = 0,
                         chunk: int = 1 << 15) -> Iterator[np.ndarray]:
    """Yield ``(n, length + 2*flank, 4)`` uint8 blocks encoding, for each start,
    ``sequence[start - flank : start + length + flank]``, ``chunk`` windows at a time.

    Parts of a window outside the sequence (a flank past a chromosome's end) are all-zero
    rows. Memory stays bounded by one chunk, whatever the number of windows.
    """
    span = length + 2 * flank
    starts = np.asarray(starts, dtype=np.int64)
    if not len(starts):  # e.g. a chromosome shorter than one window
        return
    if flank:
        sequence = np.concatenate((np.zeros(flank, np.uint8), sequence, np.zeros(flank, np.uint8)))
    if len(sequence) < span:  # sliding_window_view needs one whole span
        sequence = np.concatenate((sequence, np.zeros(span - len(sequence), np.uint8)))
    views = sliding_window_view(sequence, span)
    for first in range(0, len(starts), chunk):
        rows = starts[first:first + chunk]
        yield _TABLE32[views[rows]].view(np.uint8).reshape(len(rows), span, 4)


def encode_windows(sequence: np.ndarray, starts: np.ndarray, length: int, flank: int = 0) -> np.ndarray:
    """One-hot encode windows of a chromosome, with flanks.

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        The chromosome's ASCII bases (:meth:`tfbinding.io.fasta.Genome.sequence`).
    starts : array of int
        0-based window starts; window ``i`` is ``[starts[i], starts[i] + length)``.
    length : int
        Window length in bp.
    flank : int, default 0
        Context added on each side; bases outside the chromosome become all-zero rows.

    Returns
    -------
    numpy.ndarray
        ``(n, length + 2*flank, 4)`` uint8, channels A, C, G, T; N and IUPAC codes are
        all-zero rows.
    """
    blocks = list(iter_encoded_windows(sequence, starts, length, flank))
    if not blocks:
        return np.zeros((0, length + 2 * flank, 4), dtype=np.uint8)
    return np.concatenate(blocks)


def centred_windows(sequence: np.ndarray, centres: np.ndarray, length: int) -> np.ndarray:
    """One-hot windows of ``length`` bp with base ``centres[i]`` at row ``length // 2``.

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        A chromosome's ASCII bases (:meth:`tfbinding.io.fasta.Genome.sequence`).
    centres : array of int
        0-based positions; window ``i`` covers ``[centres[i] - length // 2,
        centres[i] - length // 2 + length)``.
    length : int
        The model's full input length (flanks included).

    Returns
    -------
    numpy.ndarray
        ``(n, length, 4)`` uint8; rows outside the chromosome are all-zero (like N).
    """
    starts = np.asarray(centres, dtype=np.int64) - length // 2
    if not len(starts):
        return np.zeros((0, length, 4), dtype=np.uint8)
    left = max(0, -int(starts.min()))
    right = max(0, int(starts.max()) + length - len(sequence))
    if left or right:  # pad with byte 0, which encodes as an all-zero row
        sequence = np.concatenate((np.zeros(left, np.uint8), sequence, np.zeros(right, np.uint8)))
    return encode_windows(sequence, starts + left, length)
