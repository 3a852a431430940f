"""The null of variant scoring: background SNVs the step draws itself, empirical p-values,
percentiles and Benjamini–Hochberg q-values.

What the null is
----------------
``null_size`` SNVs at random positions (seeded, :func:`numpy.random.default_rng`) on the
chromosomes of the VCF's scored variants, each chromosome drawn in proportion to its
length. A position is kept when its base is A, C, G or T (any case), its window (the
model's length, plus the largest shift) lies inside the chromosome, and, when peaks are
given, it lies at least ``margin`` bp from every peak: :func:`score_vcf
<tfbinding.interpret.score_variants.score_vcf>` passes a whole window plus the largest
shift, so that no null window holds a peak's bases nor the flank right next to one. (With
half a window, the least that keeps peaks out, 7% of the null lay 200-400 bp from a peak
on the benchmark; their larger effects made the p-values of background SNVs a window or
more from the peaks skewed towards 1: KS p 0.01-0.04 over six null seeds.) The ALT is one of the three other
bases, uniformly. The null SNVs are scored exactly as the VCF's variants (same models,
strands and shifts).

The statistic
-------------
``|log2 odds ratio|`` of the variant (ALT against REF, :func:`tfbinding.interpret.score_variants.log2_odds_ratio`):
the change of the logit, not of the probability, which saturates near 0 and 1 (on the
simulated benchmark, |delta| ranks site-breaking SNVs with an AUROC of 0.90 and none
reaches q < 0.05; the log odds ratio ranks them at 0.997).

Matching: G+C of the REF window
-------------------------------
A variant's statistic is compared with the null SNVs of similar G+C content of the REF
window (shift 0, A/C/G/T rows only): the null's G+C is cut at its quantiles into
``bins = clip(null_size // 100, 1, 10)`` strata of about equal size, and each variant falls
into the stratum of its own G+C (below the lowest edge: the first; above the highest: the
last). G+C, not the reference window's score, is matched: a null matched on the score
would, in the high-score strata, be made of the genome's other strong sites, whose
breaking SNVs are themselves effects, and the strata that matter most would be the
thinnest.

Statistics (within the variant's stratum of ``m`` null SNVs)
----------------------------------------------------------
* ``pvalue = (1 + #{null statistic >= statistic}) / (1 + m)`` — never 0, uniform for a variant
  drawn like the null;
* ``null_percentile = 100 · #{null statistic < statistic} / m``;
* ``qvalue``: Benjamini–Hochberg over all scored alleles of the VCF (each task apart).
"""
from __future__ import annotations

import logging
from typing import Mapping

import numpy as np

from tfbinding.errors import InputError
from tfbinding.io.vcf import BASE_CODES, VariantTable

log = logging.getLogger(__name__)

#: null SNVs per G+C stratum, and the most strata
PER_STRATUM = 100
MAX_STRATA = 10


def draw_background_snvs(genome, chromosomes, n: int, length: int, rng: np.random.Generator,
                         peaks: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                         margin: int | None = None, max_rounds: int = 100) -> VariantTable:
    """Draw ``n`` background SNVs (see the module's docstring).

    Parameters
    ----------
    genome : tfbinding.io.fasta.Genome
    chromosomes : sequence of str
        FASTA names to draw from.
    n : int
        How many.
    length : int
        The window each will be scored in (the model's input length plus twice the largest
        shift): positions whose window leaves the chromosome are not drawn.
    rng : numpy.random.Generator
    peaks : mapping or None, default None
        Chromosome → (starts, ends), 0-based half-open, sorted and merged; positions within
        ``margin`` bp of one are not drawn.
    margin : int or None, default None
        Default ``length // 2``.
    max_rounds : int, default 100
        Rounds of drawing (each 4·n candidates) before giving up.

    Returns
    -------
    VariantTable
        ``id`` ``null<k>``, ``kind`` ``snv``, ``chrom`` = ``fasta_chrom``; sorted by
        chromosome (in ``chromosomes`` order) and position.

    Raises
    ------
    InputError
        No chromosome long enough, or too few admissible positions.
    """
    margin = length // 2 if margin is None else int(margin)
    sizes = np.array([genome.sizes[c] for c in chromosomes], dtype=np.int64)
    usable = np.maximum(sizes - 2 * (length // 2 + 1), 0)
    if n <= 0:
        return _table([], [], [], [])
    if not usable.sum():
        raise InputError(f"no chromosome among {list(chromosomes)} is longer than the window "
                         f"({length} bp): cannot draw the background SNVs of the null")
    weights = usable / usable.sum()
    found: dict[int, list] = {k: [] for k in range(len(chromosomes))}
    total = 0
    for _ in range(max_rounds):
        draws = 4 * n
        which = rng.choice(len(chromosomes), draws, p=weights)
        offset = (rng.random(draws) * np.maximum(usable[which], 1)).astype(np.int64)
        position = offset + length // 2 + 1
        shift = rng.integers(1, 4, draws)
        for k in np.unique(which):
            rows = np.flatnonzero(which == k)
            chrom = chromosomes[k]
            sequence = genome.sequence(chrom)
            pos = position[rows]
            code = BASE_CODES[sequence[pos]]
            keep = code < 4
            if peaks and chrom in peaks:
                starts, ends = peaks[chrom]
                # the nearest peak at or left of pos + margin must end before pos - margin
                right = np.searchsorted(starts, pos + margin, side="right") - 1
                keep &= (right < 0) | (ends[np.maximum(right, 0)] <= pos - margin)
            for p, c, s in zip(pos[keep], code[keep], shift[rows][keep]):
                found[k].append((int(p), int(c), int((c + s) % 4)))
            total = sum(len(v) for v in found.values())
        if total >= 2 * n:
            break
    if total < n:
        raise InputError(f"only {total} of {n} background SNVs could be drawn on {list(chromosomes)} "
                         f"away from the peaks (margin {margin} bp): lower variants.null_size")
    # n of the admissible positions drawn, at random, then sorted
    order = [(k, item) for k in found for item in found[k]]
    picked = [order[i] for i in np.sort(rng.choice(len(order), n, replace=False))]
    picked.sort(key=lambda item: (item[0], item[1][0]))
    chroms = [chromosomes[k] for k, _ in picked]
    return _table(chroms, [p for _, (p, _, _) in picked], ["ACGT"[c] for _, (_, c, _) in picked],
                  ["ACGT"[a] for _, (_, _, a) in picked])


def _table(chroms, positions0, refs, alts) -> VariantTable:
    n = len(chroms)
    chrom = np.array(chroms, dtype=str) if n else np.zeros(0, dtype=str)
    return VariantTable(record=np.arange(n, dtype=np.int64), allele=np.zeros(n, np.int64), chrom=chrom,
                        fasta_chrom=chrom.copy(), pos=np.array(positions0, dtype=np.int64) + 1,
                        id=np.array([f"null{k}" for k in range(n)], dtype=str) if n else np.zeros(0, str),
                        ref=np.array(refs, dtype=str) if n else np.zeros(0, str),
                        alt=np.array(alts, dtype=str) if n else np.zeros(0, str),
                        kind=np.array(["snv"] * n, dtype=str) if n else np.zeros(0, str))


def strata_edges(null_gc: np.ndarray, bins: int | None = None) -> np.ndarray:
    """The inner edges of the G+C strata: quantiles of the null's G+C (``bins - 1`` of them,
    duplicates dropped); ``bins`` defaults to ``clip(len(null_gc) // 100, 1, 10)``.
    """
    null_gc = np.asarray(null_gc, dtype=np.float64)
    if bins is None:
        bins = int(np.clip(len(null_gc) // PER_STRATUM, 1, MAX_STRATA))
    if bins <= 1 or not len(null_gc):
        return np.zeros(0)
    return np.unique(np.quantile(null_gc, np.arange(1, bins) / bins))


def stratum(gc: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each G+C value's stratum (0 .. len(edges)): values equal to an edge go above it."""
    return np.searchsorted(edges, np.asarray(gc, dtype=np.float64), side="right")


def empirical_pvalues(stat: np.ndarray, null_stat: np.ndarray, strata: np.ndarray | None = None,
                      null_strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical p-values and percentiles of ``stat`` against ``null_stat`` within strata.

    Parameters
    ----------
    stat : array (n,)
        The variants' statistic (|log2 odds ratio|); larger is more extreme.
    null_stat : array (m,)
    strata, null_strata : array of int or None, default None
        Each variant's and each null SNV's stratum; None: one stratum.

    Returns
    -------
    pvalue : numpy.ndarray (n,) float64
        ``(1 + #{null >= stat}) / (1 + m_s)``; NaN where the stratum has no null SNV (or
        the statistic is NaN).
    percentile : numpy.ndarray (n,) float64
        ``100 · #{null < stat} / m_s``.
    """
    stat = np.asarray(stat, dtype=np.float64)
    null_stat = np.asarray(null_stat, dtype=np.float64)
    strata = np.zeros(len(stat), np.int64) if strata is None else np.asarray(strata)
    null_strata = np.zeros(len(null_stat), np.int64) if null_strata is None else np.asarray(null_strata)
    pvalue = np.full(len(stat), np.nan)
    percentile = np.full(len(stat), np.nan)
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        reference = np.sort(null_stat[null_strata == s])
        if not len(reference):
            continue
        below = np.searchsorted(reference, stat[rows], side="left")
        pvalue[rows] = (1 + len(reference) - below) / (1 + len(reference))
        percentile[rows] = 100 * below / len(reference)
    bad = np.isnan(stat)
    pvalue[bad] = percentile[bad] = np.nan
    return pvalue, percentile


def benjamini_hochberg(pvalue: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values (NaN p-values stay NaN and are not counted)."""
    pvalue = np.asarray(pvalue, dtype=np.float64)
    q = np.full(len(pvalue), np.nan)
    rows = np.flatnonzero(~np.isnan(pvalue))
    if not len(rows):
        return q
    order = rows[np.argsort(pvalue[rows], kind="stable")]
    m = len(order)
    scaled = pvalue[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q
