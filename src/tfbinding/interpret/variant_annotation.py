"""Annotation of scored variants: the factor's matrix on REF and ALT, and the peaks.

Motif match (the config's ``motif``, a JASPAR count matrix)
----------------------------------------------------------
The matrix's log-odds in bits (:func:`tfbinding.models.motif_baseline.log_odds`:
pseudocount 1, uniform background) are scanned on both strands over every placement that
**overlaps the allele** in its haplotype (:mod:`tfbinding.interpret.variant_windows`), for
REF and for ALT; the best placement's score (bits; N rows add 0) is ``motif_ref`` and
``motif_alt``. A placement is a **match** when its score reaches the threshold whose
p-value under a uniform background is :data:`MATCH_PVALUE` (1e-4, FIMO's default), computed
exactly from the matrix's score distribution (:func:`score_threshold`). A relative-score
cut-off (e.g. 80 % of the range) is not used: on a short matrix one mismatch at the most
informative base still passes it. The effect is

* ``broken``: REF matches and ALT does not;
* ``created``: ALT matches and REF does not;
* ``untouched``: both match or neither does.

Discovered patterns (``patterns.npz`` of ``discover_motifs``)
------------------------------------------------------------
Each pattern's trimmed probability matrix, as counts of 100 sequences (log-odds in bits
with pseudocount 1, as the factor's matrix), is scanned in the same way, with its own
p = 1e-4 threshold (a pattern too short to reach it never matches): ``pattern_ref``,
``pattern_alt`` and ``pattern_effect`` list one value per pattern, in rank order
(``pattern_1,pattern_2,…``; the names are in the summary and the VCF header).

Peaks and predicted sites
-------------------------
``in_peak`` is 1 when the REF bases ``[p, p + r)`` overlap a peak of the config's peaks, 0
when not, ``.`` when no peaks were given. ``in_site`` is the same for the predict step's
sites (``genome.sites.narrowPeak``), ``.`` on a chromosome the prediction did not cover.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tfbinding.interpret.variant_windows import _ONE_HOT, allele_codes_padded, allele_window_codes
from tfbinding.io.vcf import VariantTable

#: a match's score has at most this p-value under a uniform background (one placement, one strand)
MATCH_PVALUE = 1e-4
_SCALE = 100  # score bins per bit in :func:`score_threshold`
EFFECTS = ("broken", "created", "untouched")


def read_motif(path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """A JASPAR count matrix's name and log-odds ``(w, 4)``."""
    from tfbinding.models.motif_baseline import log_odds, read_jaspar

    name, counts = read_jaspar(path)
    return name, log_odds(counts)


def score_threshold(pwm: np.ndarray, pvalue: float = MATCH_PVALUE) -> float:
    """The lowest score ``s`` (bits) with ``P(score >= s) <= pvalue`` for a uniformly random
    k-mer, from the exact distribution of the matrix's scores (rounded to 0.01 bit).
    """
    pwm = np.round(np.asarray(pwm, dtype=np.float64) * _SCALE).astype(np.int64)
    low = pwm.min(axis=1)
    span = int((pwm.max(axis=1) - low).sum())
    distribution = np.zeros(span + 1)
    distribution[0] = 1.0
    for column, floor in zip(pwm, low):
        step = np.zeros(span + 1)
        for value in column - floor:
            step[value:] += distribution[:span + 1 - value] / 4
        distribution = step
    tail = np.cumsum(distribution[::-1])[::-1]  # P(score >= bin)
    admissible = np.flatnonzero(tail <= pvalue)
    first = admissible[0] if len(admissible) else span + 1
    return float((first + low.sum()) / _SCALE)


def best_overlapping_match(sequence: np.ndarray, pos0: np.ndarray, ref_length: np.ndarray, alleles,
                           pwm: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The score (bits) of the best match of ``pwm`` (either strand) among the placements
    that overlap each allele, in the allele's haplotype.

    Returns
    -------
    numpy.ndarray (n,) float64
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    width = len(pwm)
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
    return out


def motif_effects(ref_score: np.ndarray, alt_score: np.ndarray, threshold: float) -> np.ndarray:
    """``broken``, ``created`` or ``untouched`` (see the module's docstring) for scores
    against a match ``threshold`` (:func:`score_threshold`).
    """
    ref_match, alt_match = np.asarray(ref_score) >= threshold, np.asarray(alt_score) >= threshold
    return np.where(ref_match & ~alt_match, "broken", np.where(alt_match & ~ref_match, "created", "untouched"))


def annotate_motif(genome, table: VariantTable, pwm: np.ndarray,
                   threshold: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """REF and ALT scores (bits) of the best overlapping match, and the effect, of every
    row of ``table`` (REF as written in the VCF); ``threshold`` defaults to
    :func:`score_threshold` of ``pwm``.
    """
    threshold = score_threshold(pwm) if threshold is None else threshold
    ref = np.full(len(table), np.nan)
    alt = np.full(len(table), np.nan)
    for chrom in dict.fromkeys(table.fasta_chrom.tolist()):
        rows = np.flatnonzero(table.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        pos0 = table.pos[rows] - 1
        ref_length = np.char.str_len(table.ref[rows].astype(str))
        ref[rows] = best_overlapping_match(sequence, pos0, ref_length, list(table.ref[rows]), pwm)
        alt[rows] = best_overlapping_match(sequence, pos0, ref_length, list(table.alt[rows]), pwm)
    return ref, alt, motif_effects(ref, alt, threshold)


def read_patterns(paths, prefix_with_folder: bool | None = None) -> list[tuple[str, np.ndarray]]:
    """The patterns of ``patterns.npz`` files (discover_motifs), in rank order, as
    ``(name, log-odds (w, 4))``: each trimmed probability matrix taken as counts of 100
    sequences (pseudocount 1, uniform background). With several files (a multi-task model's
    tasks) a name is ``<folder>/pattern_<k>``.
    """
    from tfbinding.errors import InputError
    from tfbinding.models.motif_baseline import log_odds

    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    prefix_with_folder = len(paths) > 1 if prefix_with_folder is None else prefix_with_folder
    out = []
    for path in paths:
        try:
            data = np.load(path)
        except (FileNotFoundError, OSError, ValueError) as err:
            raise InputError(f"{path}: not a readable patterns.npz ({err}). Run discover_motifs first") from err
        with data:
            ranks = sorted(int(key[len("pattern_"):-len("_ppm")]) for key in data.files
                           if key.startswith("pattern_") and key.endswith("_ppm"))
            for rank in ranks:
                ppm = np.asarray(data[f"pattern_{rank}_ppm"], dtype=np.float64)
                start, end = data[f"pattern_{rank}_trim"] if f"pattern_{rank}_trim" in data.files else (0, len(ppm))
                name = f"pattern_{rank}"
                if prefix_with_folder:
                    name = f"{Path(path).parent.name}/{name}"
                out.append((name, log_odds(ppm[int(start):int(end)] * 100)))
    return out


def annotate_patterns(genome, table: VariantTable, patterns: list[tuple[str, np.ndarray]]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """:func:`annotate_motif` with each pattern: REF and ALT scores ``(n, P)``, effects
    ``(n, P)`` and each pattern's threshold (bits).
    """
    n, count = len(table), len(patterns)
    ref, alt = np.full((n, count), np.nan), np.full((n, count), np.nan)
    effect = np.full((n, count), "untouched", dtype=object)
    thresholds = []
    for k, (_, pwm) in enumerate(patterns):
        threshold = score_threshold(pwm)
        thresholds.append(threshold)
        ref[:, k], alt[:, k], effect[:, k] = annotate_motif(genome, table, pwm, threshold)
    return ref, alt, effect.astype(str), thresholds


def in_sites(table: VariantTable, sites: dict[str, tuple[np.ndarray, np.ndarray]],
             covered=None) -> np.ndarray:
    """``"1"`` where a row's REF bases overlap a predicted site, ``"0"`` where not, ``"."``
    on a chromosome outside ``covered`` (the chromosomes the prediction ran on; None: all).
    """
    inside = in_peaks(table, sites)
    out = np.where(inside, "1", "0").astype(object)
    if covered is not None:
        out[~np.isin(table.fasta_chrom, list(covered))] = "."
    return out.astype(str) if len(out) else np.zeros(0, dtype=str)


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
