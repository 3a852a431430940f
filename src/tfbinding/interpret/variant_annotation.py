"""Annotation of scored variants: the factor's matrix on REF and ALT, and the peaks.

Motif match (the config's ``motif``, a JASPAR count matrix)
----------------------------------------------------------
The matrix's log-odds (:func:`tfbinding.models.motif_baseline.log_odds`: pseudocount 1,
uniform background) are scanned on both strands over every placement that **overlaps the
allele** in its haplotype (:mod:`tfbinding.interpret.variant_windows`), for REF and for
ALT. The best placement's score is reported as a *relative score*, ``(s - min) / (max -
min)`` with ``min`` and ``max`` the lowest and highest scores the matrix can give (N rows
add 0). A placement is a **match** when its relative score is at least
:data:`MATCH_RELATIVE_SCORE` (0.8, the usual TFBSTools/JASPAR cut-off). The effect is

* ``broken``: REF matches and ALT does not;
* ``created``: ALT matches and REF does not;
* ``untouched``: both match or neither does.

Peaks
-----
``in_peak`` is 1 when the REF bases ``[p, p + r)`` overlap a peak of the config's peaks, 0
when not, ``.`` when no peaks were given.
"""
from __future__ import annotations

import os

import numpy as np

from tfbinding.interpret.variant_windows import _ONE_HOT, allele_codes_padded, allele_window_codes
from tfbinding.io.vcf import VariantTable

#: a match reaches this share of the way from the matrix's lowest score to its highest
MATCH_RELATIVE_SCORE = 0.8
EFFECTS = ("broken", "created", "untouched")


def read_motif(path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """A JASPAR count matrix's name and log-odds ``(w, 4)``."""
    from tfbinding.models.motif_baseline import log_odds, read_jaspar

    name, counts = read_jaspar(path)
    return name, log_odds(counts)


def best_overlapping_match(sequence: np.ndarray, pos0: np.ndarray, ref_length: np.ndarray, alleles,
                           pwm: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The relative score of the best match of ``pwm`` (either strand) among the placements
    that overlap each allele, in the allele's haplotype.

    Returns
    -------
    numpy.ndarray (n,) float64 in [0, 1]
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    width = len(pwm)
    lowest, highest = pwm.min(axis=1).sum(), pwm.max(axis=1).sum()
    both = np.stack((pwm, pwm[::-1, ::-1]))
    codes, lengths = alleles if isinstance(alleles, tuple) else allele_codes_padded(alleles)
    out = np.empty(len(lengths), dtype=np.float64)
    for first in range(0, len(lengths), chunk):
        part = slice(first, first + chunk)
        a = lengths[part]
        span = int(a.max()) if len(a) else 1
        # a local window: the allele and width - 1 bases on each side of the longest
        local = span + 2 * (width - 1) + 2
        window = allele_window_codes(sequence, np.asarray(pos0)[part], np.asarray(ref_length)[part],
                                     (codes[part], a), local)
        X = _ONE_HOT[window].astype(np.float64)
        from numpy.lib.stride_tricks import sliding_window_view

        view = sliding_window_view(X, (width, 4), axis=(1, 2))[:, :, 0]  # (n, P, w, 4)
        scores = np.einsum("npkc,skc->np", view, both[:1]), np.einsum("npkc,skc->np", view, both[1:])
        best = np.maximum(*scores)
        start = local // 2 - a // 2  # the allele's first row
        placement = np.arange(best.shape[1])[None]
        overlaps = (placement + width > start[:, None]) & (placement < (start + a)[:, None])
        out[part] = np.where(overlaps, best, -np.inf).max(axis=1)
    return (out - lowest) / (highest - lowest)


def motif_effects(ref_score: np.ndarray, alt_score: np.ndarray,
                  threshold: float = MATCH_RELATIVE_SCORE) -> np.ndarray:
    """``broken``, ``created`` or ``untouched`` (see the module's docstring)."""
    ref_match, alt_match = np.asarray(ref_score) >= threshold, np.asarray(alt_score) >= threshold
    return np.where(ref_match & ~alt_match, "broken", np.where(alt_match & ~ref_match, "created", "untouched"))


def annotate_motif(genome, table: VariantTable, pwm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """REF and ALT relative scores of the best overlapping match, and the effect, of every
    row of ``table`` (REF as written in the VCF)."""
    ref = np.full(len(table), np.nan)
    alt = np.full(len(table), np.nan)
    for chrom in dict.fromkeys(table.fasta_chrom.tolist()):
        rows = np.flatnonzero(table.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        pos0 = table.pos[rows] - 1
        ref_length = np.char.str_len(table.ref[rows].astype(str))
        ref[rows] = best_overlapping_match(sequence, pos0, ref_length, list(table.ref[rows]), pwm)
        alt[rows] = best_overlapping_match(sequence, pos0, ref_length, list(table.alt[rows]), pwm)
    return ref, alt, motif_effects(ref, alt)


def read_peaks(path: str | os.PathLike, sizes, aliases=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A BED/narrowPeak file as chromosome → (starts, ends), sorted and merged."""
    from tfbinding.io.bed import merge_intervals, read_intervals

    intervals = read_intervals(path, sizes, aliases, what="peaks", allow_past_end=True)
    merged = {}
    for chrom in dict.fromkeys(intervals.chrom.tolist()):
        on = intervals.on(chrom)
        merged[chrom] = merge_intervals(on.start, np.minimum(on.end, sizes[chrom]), chrom)
    return merged


def in_peaks(table: VariantTable, peaks: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Whether each row's REF bases overlap a peak (bool array)."""
    out = np.zeros(len(table), dtype=bool)
    ref_length = np.char.str_len(table.ref.astype(str)) if len(table) else np.zeros(0, np.int64)
    for chrom, (starts, ends) in peaks.items():
        rows = np.flatnonzero(table.fasta_chrom == chrom)
        if not len(rows):
            continue
        first, last = table.pos[rows] - 1, table.pos[rows] - 1 + ref_length[rows]
        k = np.searchsorted(starts, last, side="left") - 1  # the last peak starting before `last`
        out[rows] = (k >= 0) & (ends[np.maximum(k, 0)] > first)
    return out
