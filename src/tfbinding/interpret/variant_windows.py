"""The windows a variant is scored in: REF and ALT of any length, centred on the allele.

The centring rule
-----------------
A variant at 0-based ``p = POS - 1`` replaces the ``r`` reference bases ``[p, p + r)`` (its
REF, as written in the VCF, an indel's anchor base included) with an allele of ``a`` bases
(its ALT; the REF itself for the REF window). The allele's **haplotype** is the
chromosome with that replacement: ``genome[:p] + allele + genome[p + r:]``. The window of
length ``L`` (the model's full input length) is centred on **the allele's own midpoint**
in its haplotype: the allele's base ``a // 2`` sits at row ``L // 2``, so the window is
the haplotype's ``[c - L // 2, c - L // 2 + L)`` with ``c = p + a // 2``. In genome terms:

* ``L // 2 - a // 2`` bases left of ``p`` (``genome[p - (L // 2 - a // 2) : p]``),
* then the allele,
* then the bases after the REF, ``genome[p + r :]``, as many as fill the window.

So a deletion draws bases in from both flanks (half of the change on each side), an
insertion pushes them out on both sides, and an allele longer than ``L`` is cut to its
middle ``L`` bases. For an SNV both windows are the plain centred window
(:func:`tfbinding.data.encoding.centred_windows`); an MNV's REF and ALT windows cover the
same genome bases. A ``shift`` of ``s`` bp moves the window ``s`` bases to the right in the
haplotype (the allele ``s`` rows to the left). Bases beyond a chromosome's end, and N (or
any non-ACGT byte), are all-zero rows.
"""
from __future__ import annotations

import numpy as np

from tfbinding.io.vcf import BASE_CODES

_CODES8 = BASE_CODES.astype(np.uint8)
_ONE_HOT = np.vstack((np.eye(4, dtype=np.uint8), np.zeros((1, 4), np.uint8)))


def allele_codes_padded(alleles) -> tuple[np.ndarray, np.ndarray]:
    """Alleles (strings of A, C, G, T in any case) as ``(n, max length)`` codes 0..3 (4 as
    padding) and their lengths.
    """
    lengths = np.array([len(a) for a in alleles], dtype=np.int64)
    out = np.full((len(lengths), max(1, int(lengths.max()) if len(lengths) else 1)), 4, np.uint8)
    for row, allele in enumerate(alleles):
        out[row, :len(allele)] = _CODES8[np.frombuffer(allele.encode("ascii"), np.uint8)]
    return out, lengths


def window_start(pos0: np.ndarray, allele_length: np.ndarray, length: int, shift: int = 0) -> np.ndarray:
    """The window's first row in haplotype coordinates: ``p + a // 2 - L // 2 + shift``."""
    return np.asarray(pos0, np.int64) + np.asarray(allele_length, np.int64) // 2 - length // 2 + shift


def allele_window_codes(sequence: np.ndarray, pos0: np.ndarray, ref_length: np.ndarray, alleles,
                        length: int, shift: int = 0) -> np.ndarray:
    """Base codes (0..3 A, C, G, T; 4 for N or outside the chromosome) of each allele's
    window, ``(n, length)`` uint8 (see the module's docstring).

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        The chromosome's ASCII bases.
    pos0 : array of int
        0-based first base of each REF.
    ref_length : array of int
        Each REF's length ``r``.
    alleles : sequence of str, or (codes, lengths) from :func:`allele_codes_padded`
        The allele put in place of each REF.
    length : int
        The window's length ``L``.
    shift : int, default 0
    """
    codes, allele_length = alleles if isinstance(alleles, tuple) else allele_codes_padded(alleles)
    pos0 = np.asarray(pos0, np.int64)[:, None]
    ref_length = np.asarray(ref_length, np.int64)[:, None]
    a = allele_length[:, None]
    h = window_start(pos0[:, 0], allele_length, length, shift)[:, None] + np.arange(length)
    inside = (h >= pos0) & (h < pos0 + a)
    g = np.where(h < pos0, h, h - a + ref_length)
    out = _CODES8[sequence[np.clip(g, 0, len(sequence) - 1)]]
    out[(g < 0) | (g >= len(sequence))] = 4
    rows, cols = np.nonzero(inside)
    out[rows, cols] = codes[rows, (h - pos0)[rows, cols]]
    return out


def allele_windows(sequence: np.ndarray, pos0: np.ndarray, ref_length: np.ndarray, alleles,
                   length: int, shift: int = 0) -> np.ndarray:
    """One-hot windows ``(n, length, 4)`` uint8 of :func:`allele_window_codes`."""
    return _ONE_HOT[allele_window_codes(sequence, pos0, ref_length, alleles, length, shift)]


def allele_span(allele_length: np.ndarray, length: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``[start, end)`` the allele occupies in its window (may reach outside
    ``[0, length)`` for an allele longer than the window).
    """
    start = length // 2 - np.asarray(allele_length, np.int64) // 2 - shift
    return start, start + np.asarray(allele_length, np.int64)
