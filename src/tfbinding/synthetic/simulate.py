"""A deterministic simulated genome for benchmarking binding models.

Nothing here is real biology; it is a benchmark whose ground truth is known:

* **background**: bases drawn with a GC content that varies between isochore-like
  segments (exponential lengths, a few kb on average), then CpG-depleted by simulated
  deamination (``CG`` becomes ``TG`` or ``CA`` with a set probability), soft-masked
  (lowercase) mutated copies of a few repeat families and ``(CA)n``-like microsatellites,
  a telomere-like ``N`` run at each chromosome start and a few internal ``N`` gaps;
* **bound sites**: sampled from the planted matrix's probabilities, one per peak (some
  peaks carry two), each with its own *strength* (the fraction of its positions drawn
  from the matrix; the rest are uniform) and a *temperature* (probabilities raised to
  ``1/T`` and renormalised), so that a scan with the true matrix is imperfect;
* **decoys**: the same matrix planted outside peaks, and sites of a column-shuffled
  matrix (same composition, other order);
* **peaks**: narrowPeak intervals 100–400 bp wide (by default) around each bound site,
  with a summit near the site, and a fraction of peaks that hold no site at all;
* **context** (optional): a co-factor motif planted a few hundred bp or less from bound
  sites, and GC-rich flanks around them, so that the sequence around a window carries
  signal beyond the core motif;
* **breakable sites**: consensus sites in peaks, each with the single-nucleotide variant
  (SNV) that breaks it most (the matrix's best base replaced by its worst).

All coordinates are 0-based and half-open (BED-style): a site ``(start, end)`` covers
``sequence[start:end]``; a variant's ``pos`` is the 0-based index of the changed base.
The same arguments give the same bytes: every random draw comes from one
:func:`numpy.random.default_rng` seeded with ``seed``.

Example
-------
>>> from tfbinding.models.motif_baseline import read_jaspar
>>> _, counts = read_jaspar("resources/motifs/MA0491.3.jaspar")
>>> genome = simulate_genome(seed=1, size_bp=2_000_000, motif_counts=counts)
>>> same = simulate(GenomeSpec(seed=1, size_bp=2_000_000, motif_counts=counts))  # the same genome
>>> paths = genome.write("results/sim")                       # doctest: +SKIP
>>> X = genome.encode("chr1", starts, 101, flank=200)          # doctest: +SKIP
>>> oracle = oracle_scores(X, genome.matrix)                   # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfbinding.data.onehot import encode_windows
from tfbinding.models.motif_baseline import best_match_scores
from tfbinding.synthetic.fasta import fasta_bytes, text_lines, write_files

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_LOWER = np.uint8(0x20)

#: dtype of :attr:`SimulatedGenome.sites`
SITE_DTYPE = np.dtype([("chrom", "U32"), ("start", np.int64), ("end", np.int64), ("strand", "U1"),
                       ("kind", "U8"), ("strength", np.float32), ("peak", np.int64)])
#: dtype of :attr:`SimulatedGenome.peaks`
PEAK_DTYPE = np.dtype([("chrom", "U32"), ("start", np.int64), ("end", np.int64), ("summit", np.int64),
                       ("signal", np.float32), ("has_site", bool)])
#: dtype of :attr:`SimulatedGenome.variants`
VARIANT_DTYPE = np.dtype([("chrom", "U32"), ("pos", np.int64), ("ref", "U1"), ("alt", "U1"),
                          ("site", np.int64)])

#: site kinds: ``bound`` (in a peak), ``snv`` (bound consensus site with a breaking SNV),
#: ``decoy`` (planted matrix outside peaks), ``shuffled`` (column-shuffled matrix outside
#: peaks), ``cofactor`` (co-factor motif near a bound site, or in a site-less peak)
SITE_KINDS = ("bound", "snv", "decoy", "shuffled", "cofactor")


@dataclass
class SimulatedGenome:
    """A simulated genome and its ground truth.

    Attributes
    ----------
    sequences : dict of str to numpy.ndarray
        Chromosome name to its ASCII bytes as ``uint8`` (``ACGT``, lowercase ``acgt`` for
        soft-masked repeats, ``N`` for gaps), in chromosome order.
    peaks : numpy.ndarray
        Structured array of :data:`PEAK_DTYPE`, sorted by chromosome order then start;
        ``summit`` is absolute (0-based), ``has_site`` is False for site-less peaks.
    sites : numpy.ndarray
        Structured array of :data:`SITE_DTYPE`: every planted site (all kinds), sorted by
        chromosome order then start; ``peak`` indexes :attr:`peaks` (-1 outside peaks).
    variants : numpy.ndarray
        Structured array of :data:`VARIANT_DTYPE`: one SNV per ``snv`` site that turns its
        most informative base into that column's least likely base; ``site`` indexes
        :attr:`sites`.
    matrix : numpy.ndarray
        ``(L, 4)`` float64 probabilities (A, C, G, T) of the planted motif.
    cofactor_matrix : numpy.ndarray
        ``(L2, 4)`` probabilities of the co-factor motif (random, fixed by ``seed``).
    params : dict
        The arguments of :func:`simulate_genome`, for provenance.
    """

    sequences: dict[str, np.ndarray]
    peaks: np.ndarray
    sites: np.ndarray
    variants: np.ndarray
    matrix: np.ndarray
    cofactor_matrix: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name to length in bp."""
        return {name: len(seq) for name, seq in self.sequences.items()}

    def sites_of(self, kind: str | tuple[str, ...]) -> np.ndarray:
        """The planted sites of one kind (or several), as a view of :attr:`sites`."""
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        return self.sites[np.isin(self.sites["kind"], kinds)]

    def encode(self, chrom: str, starts: np.ndarray, width: int, flank: int = 0) -> np.ndarray:
        """One-hot ``(n, width + 2*flank, 4)`` uint8 rows of ``chrom[start - flank : start + width + flank]``.

        Exactly what the workflow's ``onehot`` step makes (:func:`tfbinding.data.onehot.encode_windows`).
        """
        return encode_windows(self.sequences[chrom], np.asarray(starts, np.int64), width, flank)

    def window_labels(self, chrom: str, starts: np.ndarray, width: int, min_overlap_bp: int = 1) -> np.ndarray:
        """1 where ``[start, start + width)`` overlaps a peak of ``chrom`` by ``min_overlap_bp`` bp or more.

        Peaks never overlap one another (each has its own slot), so one ``searchsorted``
        finds the only candidates: the peak holding or following the window's start.
        """
        starts = np.asarray(starts, np.int64)
        peaks = self.peaks[self.peaks["chrom"] == chrom]
        overlap = np.zeros(len(starts), np.int64)
        if len(peaks):
            for shift in (0, 1):  # the first peak ending after the start, and the next one
                index = np.searchsorted(peaks["end"], starts, side="right") + shift
                valid = index < len(peaks)
                index = np.minimum(index, len(peaks) - 1)
                bp = (np.minimum(peaks["end"][index], starts + width) - np.maximum(peaks["start"][index], starts))
                overlap += np.where(valid, np.clip(bp, 0, None), 0)
        return (overlap >= min_overlap_bp).astype(np.uint8)

    def files(self) -> dict[str, bytes]:
        """The genome's files as ``{file name: uncompressed content}``.

        ``genome.fa`` (60-column lines), ``peaks.narrowPeak`` (10 columns, summit as an
        offset from the start), ``chrom.sizes``, ``sites.bed`` (BED6: name = kind,
        score = strength × 1000), ``variants.tsv`` (``chrom pos ref alt``, pos 0-based).
        """
        peaks = [f"{p['chrom']}\t{p['start']}\t{p['end']}\tpeak{i}\t{min(1000, int(p['signal'] * 20))}\t.\t"
                 f"{p['signal']:.3f}\t{p['signal'] / 2:.3f}\t{p['signal'] / 3:.3f}\t{p['summit'] - p['start']}"
                 for i, p in enumerate(self.peaks)]
        sites = [f"{s['chrom']}\t{s['start']}\t{s['end']}\t{s['kind']}\t{int(round(s['strength'] * 1000))}\t"
                 f"{s['strand']}" for s in self.sites]
        variants = [f"{v['chrom']}\t{v['pos']}\t{v['ref']}\t{v['alt']}" for v in self.variants]
        sizes = [f"{name}\t{size}" for name, size in self.chrom_sizes.items()]
        return {
            "genome.fa.gz": fasta_bytes(self.sequences, "simulated, not real sequence"),
            "peaks.narrowPeak.gz": text_lines(peaks),
            "chrom.sizes": text_lines(sizes),
            "sites.bed": text_lines(sites),
            "variants.tsv": text_lines(["#chrom\tpos0\tref\talt"] + variants),
        }

    def write(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write :meth:`files` into ``out_dir`` (``.gz`` as plain gzip with mtime 0, so
        the same genome gives the same bytes); return ``{file name: path}``.
        """
        return write_files(self.files(), out_dir)


def motif_probabilities(counts: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Per-position base probabilities ``(L, 4)`` from a count matrix (e.g. JASPAR's).

    Parameters
    ----------
    counts : numpy.ndarray
        ``(L, 4)`` counts, columns A, C, G, T (as :func:`tfbinding.models.motif_baseline.read_jaspar` returns).
    pseudocount : float, default 1.0
        Total pseudocount per position, spread uniformly over the four bases.
    """
    counts = np.asarray(counts, np.float64)
    if counts.ndim != 2 or counts.shape[1] != 4 or (counts < 0).any():
        raise ValueError(f"motif_counts must be a non-negative (L, 4) matrix, got shape {counts.shape}")
    return (counts + pseudocount / 4) / (counts.sum(axis=1, keepdims=True) + pseudocount)


def matrix_log_odds(matrix: np.ndarray, background: float = 0.25) -> np.ndarray:
    """log2(p / background) of a probability matrix: the oracle's PWM."""
    return np.log2(np.asarray(matrix, np.float64) / background)


def oracle_scores(X: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Best log-odds match of the planted matrix over each one-hot row, either strand.

    The benchmark's reference: it knows the planted matrix exactly and scans the same
    ``X`` rows a model sees (flanks included).

    Parameters
    ----------
    X : numpy.ndarray
        ``(n, length, 4)`` one-hot windows (A, C, G, T; all-zero rows for N).
    matrix : numpy.ndarray
        ``(L, 4)`` probabilities, e.g. :attr:`SimulatedGenome.matrix`.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float32 scores.
    """
    return best_match_scores(X, matrix_log_odds(matrix).astype(np.float32))


def sample_sites(rng: np.random.Generator, matrix: np.ndarray, n: int, strength: np.ndarray | float = 1.0,
                 temperature: float = 1.0) -> np.ndarray:
    """Draw ``n`` sites ``(n, L)`` of base codes (0–3 = A, C, G, T) from a probability matrix.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    matrix : numpy.ndarray
        ``(L, 4)`` probabilities.
    n : int
        Number of sites.
    strength : float or numpy.ndarray, default 1.0
        Per site (or for all), the fraction of positions drawn from the matrix; the others
        are uniform. 1 gives faithful samples, 0 random sequence.
    temperature : float, default 1.0
        Probabilities are raised to ``1 / temperature`` and renormalised: above 1 flattens
        the matrix (weaker sites), below 1 sharpens it towards the consensus.
    """
    p = np.asarray(matrix, np.float64) ** (1.0 / temperature)
    cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((n, len(p)))
    codes = (u[..., None] > cumulative[None, :, :3]).sum(axis=-1)
    uniform = rng.integers(0, 4, (n, len(p)))
    from_matrix = rng.random((n, len(p))) < np.broadcast_to(np.asarray(strength, np.float64), (n,))[:, None]
    return np.where(from_matrix, codes, uniform).astype(np.uint8)


def _background(rng: np.random.Generator, size: int, gc_mean: float, gc_sd: float, isochore_bp: float,
                cpg_depletion: float) -> np.ndarray:
    """ACGT bytes: GC drawn per isochore segment, then CpG deamination."""
    n_segments = max(1, int(2 * size / isochore_bp) + 8)
    lengths = np.maximum(200, rng.exponential(isochore_bp, n_segments)).astype(np.int64)
    while lengths.sum() < size:  # rare: draw more segments
        lengths = np.concatenate((lengths, np.maximum(200, rng.exponential(isochore_bp, n_segments)).astype(np.int64)))
    gc = np.clip(rng.normal(gc_mean, gc_sd, len(lengths)), 0.25, 0.7)
    gc = np.repeat(gc, lengths)[:size]
    strong = rng.random(size) < gc
    first = rng.random(size) < 0.5
    codes = np.where(strong, np.where(first, 1, 2), np.where(first, 0, 3)).astype(np.uint8)
    _deaminate(rng, codes, cpg_depletion)
    return codes


def _deaminate(rng: np.random.Generator, codes: np.ndarray, probability: float) -> None:
    """Turn each CpG into TpG or CpA with ``probability`` (in place; makes no new CpG)."""
    cpg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    cpg = cpg[rng.random(len(cpg)) < probability]
    on_c = rng.random(len(cpg)) < 0.5
    codes[cpg[on_c]] = 3          # C -> T
    codes[cpg[~on_c] + 1] = 0     # G -> A


def _repeats(rng: np.random.Generator, codes: np.ndarray, lower: np.ndarray, fraction: float) -> None:
    """Mutated copies of three repeat families and microsatellites, marked lowercase."""
    if fraction <= 0:
        return
    families = [rng.integers(0, 4, n).astype(np.uint8) for n in (300, 150, 1_000)]
    families += [np.tile(rng.integers(0, 4, k).astype(np.uint8), 60 // k) for k in (2, 3)]  # (CA)n-like
    mean_length = np.mean([len(f) for f in families])
    n_copies = int(fraction * len(codes) / mean_length)
    which = rng.integers(0, len(families), n_copies)
    for index in range(len(families)):  # one vectorised block per family
        family = families[index]
        at = rng.integers(0, max(1, len(codes) - len(family)), int((which == index).sum()))
        positions = (at[:, None] + np.arange(len(family))).ravel()
        copies = np.tile(family, len(at))
        mutate = rng.random(len(copies)) < 0.12
        copies[mutate] = rng.integers(0, 4, int(mutate.sum()))
        codes[positions] = copies
        lower[positions] = True


def _gaps(rng: np.random.Generator, size: int, n_gaps: int) -> np.ndarray:
    """``(k, 2)`` N gaps: a telomere-like run at the start and ``n_gaps`` internal ones."""
    telomere = min(10_000, size // 50)
    starts = rng.integers(telomere + 1_000, max(telomere + 1_001, size - 6_000), n_gaps)
    lengths = np.exp(rng.uniform(np.log(100), np.log(5_000), n_gaps)).astype(np.int64)
    gaps = np.column_stack((np.concatenate(([0], starts)), np.concatenate(([telomere], starts + lengths))))
    return gaps[np.argsort(gaps[:, 0])]


def _write_sites(codes: np.ndarray, at: np.ndarray, sites: np.ndarray, strands: np.ndarray) -> None:
    """Write ``(n, L)`` base codes at ``at``, reverse-complemented where strand is '-'."""
    if not len(at):
        return
    sites = np.where((strands == "-")[:, None], 3 - sites[:, ::-1], sites)
    codes[(at[:, None] + np.arange(sites.shape[1])).ravel()] = sites.ravel()


@dataclass(frozen=True)
class GenomeSpec:
    """What to simulate: every setting of :func:`simulate_genome`, with the same names and defaults.

    Parameters
    ----------
    seed : int, default 0
        Seed of the one random generator: the same spec gives the same genome.
    size_bp : int, default 10_000_000
        Total length; split evenly over ``chromosomes`` when that is a count.
    chromosomes : int or dict of str to int, default 2
        Number of chromosomes (named ``chr1``…), or explicit ``{name: length}`` (then
        ``size_bp`` is ignored).
    motif_counts : numpy.ndarray, optional
        ``(L, 4)`` A, C, G, T counts or probabilities of the factor's motif, e.g. from
        ``tfbinding.models.motif_baseline.read_jaspar("resources/motifs/MA0491.3.jaspar")``. Required.
    n_sites : int, default 1_000
        Number of bound peaks; each holds one planted site (plus a second one with
        probability ``second_site_fraction``). ``n_snv_sites`` of them hold a breakable
        consensus site instead.
    site_strength : float or (float, float), default (0.6, 1.0)
        Fraction of a bound site's positions drawn from the matrix (the rest uniform);
        a pair draws it per site, uniformly in that range.
    temperature : float, default 1.0
        Temperature of bound sites (see :func:`sample_sites`); > 1 makes them weaker.
    second_site_fraction : float, default 0.15
        Probability that a bound peak holds a second site 15–45 bp from the first.
    peaks_without_site : float, default 0.1
        Extra peaks, as a fraction of ``n_sites``, with no planted site (ChIP peaks the
        motif cannot explain; they get a co-factor site with ``cofactor_fraction``).
    peak_width : (int, int), default (100, 400)
        Range of peak widths in bp; each side of the summit is drawn independently.
    decoys_per_site : float, default 1.0
        Sites of the planted matrix outside peaks, per bound site.
    decoy_strength : float or (float, float), default (0.6, 1.0)
        Strength of decoy sites, as ``site_strength``.
    shuffled_per_site : float, default 1.0
        Sites of a column-shuffled matrix outside peaks, per bound site.
    cofactor_fraction : float, default 0.5
        Probability that a bound site has a co-factor site nearby (0 disables context).
    cofactor_distance : (int, int), default (60, 300)
        Range of distances (bp) between a bound site and its co-factor site.
    cofactor_length : int, default 8
        Length of the co-factor motif (a random sharp matrix fixed by ``seed``).
    gc_flank_fraction : float, default 0.3
        Probability that a bound site sits in a GC-rich stretch of ``± gc_flank_bp``.
    gc_flank_bp : int, default 150
        Half-width of a GC-rich stretch.
    gc_flank_gc : float, default 0.62
        GC content of a GC-rich stretch (before CpG depletion).
    n_snv_sites : int, default 20
        Bound peaks that hold a consensus site with a breaking SNV (see ``variants``).
    gc_mean, gc_sd : float, default 0.41, 0.06
        Mean and spread of the isochores' GC content.
    isochore_bp : float, default 3_000
        Mean isochore length (bp, exponential).
    cpg_depletion : float, default 0.75
        Probability that each CpG mutates to TpG or CpA.
    repeat_fraction : float, default 0.1
        Approximate fraction of the genome covered by soft-masked repeat copies.
    n_gaps : int, default 4
        Internal N gaps per chromosome (100 bp–5 kb), besides the one at its start.
    slot_bp : int, default 2_000
        Peaks and decoys each get their own slot of this size, so none overlap; it must
        exceed the largest peak width and twice the co-factor distance.
    site_anywhere : bool, default False
        Place each bound site anywhere in its peak (uniformly) rather than near the summit.
    """

    seed: int = 0
    size_bp: int = 10_000_000
    chromosomes: int | dict[str, int] = 2
    motif_counts: np.ndarray | None = None
    n_sites: int = 1_000
    site_strength: float | tuple[float, float] = (0.6, 1.0)
    temperature: float = 1.0
    second_site_fraction: float = 0.15
    peaks_without_site: float = 0.1
    peak_width: tuple[int, int] = (100, 400)
    decoys_per_site: float = 1.0
    decoy_strength: float | tuple[float, float] = (0.6, 1.0)
    shuffled_per_site: float = 1.0
    cofactor_fraction: float = 0.5
    cofactor_distance: tuple[int, int] = (60, 300)
    cofactor_length: int = 8
    gc_flank_fraction: float = 0.3
    gc_flank_bp: int = 150
    gc_flank_gc: float = 0.62
    n_snv_sites: int = 20
    gc_mean: float = 0.41
    gc_sd: float = 0.06
    isochore_bp: float = 3_000
    cpg_depletion: float = 0.75
    repeat_fraction: float = 0.1
    n_gaps: int = 4
    slot_bp: int = 2_000
    site_anywhere: bool = False

    def params(self) -> dict:
        """The settings as a plain dict (arrays as lists), in field order, for provenance."""
        values = ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        return {name: (value.tolist() if isinstance(value, np.ndarray) else value) for name, value in values}

    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name to length: ``chromosomes`` itself, or ``size_bp`` split evenly."""
        if isinstance(self.chromosomes, int):
            return {f"chr{i + 1}": self.size_bp // self.chromosomes for i in range(self.chromosomes)}
        return dict(self.chromosomes)

    def motif_matrix(self) -> np.ndarray:
        """``(L, 4)`` probabilities of the planted motif: counts through :func:`motif_probabilities`,
        probabilities (all at most 1) renormalised per row.
        """
        counts = np.asarray(self.motif_counts, np.float64)
        return motif_probabilities(self.motif_counts) if counts.max() > 1 else counts / counts.sum(axis=1, keepdims=True)


@dataclass
class _Canvas:
    """The chromosomes under construction and the sites planted so far.

    ``codes`` are base codes 0–3 (A, C, G, T) per chromosome, ``lower`` its soft mask,
    ``gaps`` its ``(k, 2)`` N gaps; ``site_rows`` holds one :data:`SITE_DTYPE` block per
    :meth:`plant` call, in call order.
    """

    names: np.ndarray
    codes: dict[str, np.ndarray]
    lower: dict[str, np.ndarray]
    gaps: dict[str, np.ndarray]
    site_rows: list[np.ndarray] = field(default_factory=list)

    @property
    def n_planted(self) -> int:
        return sum(len(rows) for rows in self.site_rows)

    def plant(self, rng: np.random.Generator, codes_by_site: np.ndarray, at: np.ndarray, chrom_index: np.ndarray,
              kind, strength, peak) -> np.ndarray:
        """Write sites ``(n, L)`` at ``at`` on random strands; record and return their rows."""
        strands = np.where(rng.random(len(at)) < 0.5, "+", "-")
        for c in np.unique(chrom_index):
            mine = chrom_index == c
            _write_sites(self.codes[self.names[c]], at[mine], codes_by_site[mine], strands[mine])
        rows = np.zeros(len(at), SITE_DTYPE)
        rows["chrom"], rows["start"], rows["end"] = self.names[chrom_index], at, at + codes_by_site.shape[1]
        rows["strand"], rows["kind"], rows["strength"], rows["peak"] = strands, kind, strength, peak
        self.site_rows.append(rows)
        return rows

    def sequences(self) -> dict[str, np.ndarray]:
        """ASCII bytes per chromosome: uppercase bases, soft mask, N gaps."""
        sequences = {}
        for name in self.names:
            seq = _BASES[self.codes[name]]
            seq[self.lower[name]] |= _LOWER
            for gap_start, gap_end in self.gaps[name]:
                seq[gap_start:gap_end] = ord("N")
            sequences[str(name)] = seq
        return sequences


@dataclass
class _Layout:
    """Where peaks and decoys go: one slot each, ``role`` 0 bound, 1 empty, 2 decoy, 3 shuffled."""

    centre: np.ndarray
    chrom: np.ndarray
    role: np.ndarray


@dataclass
class _Peaks:
    """The peaks, bound ones first (index = bound site), then the site-less ones."""

    centre: np.ndarray
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    summit: np.ndarray


def _strengths(rng: np.random.Generator, spec: float | tuple[float, float], n: int) -> np.ndarray:
    """``n`` site strengths: ``spec`` itself, or uniform draws in its range."""
    return np.full(n, spec, np.float64) if np.isscalar(spec) else rng.uniform(spec[0], spec[1], n)


def _check_slot_size(spec: GenomeSpec, length: int) -> None:
    if spec.slot_bp <= max(spec.peak_width[1], 2 * spec.cofactor_distance[1] + 2 * length + 130,
                           2 * spec.gc_flank_bp + length):
        raise ValueError(f"slot_bp={spec.slot_bp} is too small for the peak width and co-factor distance")


def _background_and_gaps(rng: np.random.Generator, spec: GenomeSpec, sizes: dict[str, int]) -> _Canvas:
    """Each chromosome's background, soft-masked repeats and N gaps, one chromosome after another."""
    codes, lower, gaps = {}, {}, {}
    for name, size in sizes.items():
        codes[name] = _background(rng, size, spec.gc_mean, spec.gc_sd, spec.isochore_bp, spec.cpg_depletion)
        lower[name] = np.zeros(size, bool)
        _repeats(rng, codes[name], lower[name], spec.repeat_fraction)
        gaps[name] = _gaps(rng, size, spec.n_gaps)
    return _Canvas(names=np.array(list(sizes)), codes=codes, lower=lower, gaps=gaps)


def _free_slots(sizes: dict[str, int], gaps: dict[str, np.ndarray], slot_bp: int) -> tuple[np.ndarray, np.ndarray]:
    """Chromosome index and start of every slot away from gaps and chromosome ends, genome-wide."""
    slot_chrom, slot_start = [], []
    for index, (name, size) in enumerate(sizes.items()):
        starts = np.arange(slot_bp, size - 2 * slot_bp, slot_bp, dtype=np.int64)
        clash = np.zeros(len(starts), bool)
        for gap_start, gap_end in gaps[name]:
            clash |= (starts < gap_end + 500) & (starts + slot_bp > gap_start - 500)
        slot_chrom.append(np.full((~clash).sum(), index))
        slot_start.append(starts[~clash])
    return np.concatenate(slot_chrom), np.concatenate(slot_start)


def _choose_slots(rng: np.random.Generator, spec: GenomeSpec, slot_chrom: np.ndarray,
                  slot_start: np.ndarray) -> _Layout:
    """One jittered slot per bound peak, site-less peak, decoy and shuffled decoy."""
    n_empty = int(round(spec.peaks_without_site * spec.n_sites))
    n_decoys = int(round(spec.decoys_per_site * spec.n_sites))
    n_shuffled = int(round(spec.shuffled_per_site * spec.n_sites))
    needed = spec.n_sites + n_empty + n_decoys + n_shuffled
    if needed > len(slot_start):
        raise ValueError(f"{needed} peaks and decoys need {needed} slots of {spec.slot_bp} bp; the genome has "
                         f"{len(slot_start)}: lower n_sites or the decoy rates, or enlarge size_bp")
    chosen = rng.permutation(len(slot_start))[:needed]
    jitter = rng.integers(-spec.slot_bp // 8, spec.slot_bp // 8 + 1, needed)
    return _Layout(centre=slot_start[chosen] + spec.slot_bp // 2 + jitter, chrom=slot_chrom[chosen],
                   role=np.repeat(np.arange(4), (spec.n_sites, n_empty, n_decoys, n_shuffled)))


def _draw_peaks(rng: np.random.Generator, spec: GenomeSpec, layout: _Layout, length: int) -> _Peaks:
    """Summit near the slot's centre, each side's half-width drawn; shifted when sites lie anywhere."""
    bound, empty = np.flatnonzero(layout.role == 0), np.flatnonzero(layout.role == 1)
    centre = layout.centre[np.concatenate((bound, empty))]
    n_peaks = len(centre)
    summit = centre + np.clip(np.round(rng.normal(0, 20, n_peaks)), -45, 45).astype(np.int64)
    half_low, half_high = spec.peak_width[0] // 2, spec.peak_width[1] // 2
    left = rng.integers(half_low, half_high + 1, n_peaks)
    right = rng.integers(half_low, half_high + 1, n_peaks)
    start, end = summit - left, summit + right
    if spec.site_anywhere:
        # the bound site lies anywhere in its peak, not near the summit
        site_start = centre - length // 2
        width = end - start
        rel = (rng.random(n_peaks) * np.maximum(width - length + 1, 1)).astype(np.int64)
        shift = (site_start - rel) - start
        start, end, summit = start + shift, end + shift, summit + shift
    return _Peaks(centre=centre, chrom=layout.chrom[np.concatenate((bound, empty))], start=start, end=end,
                  summit=summit)


def _plant_context(rng: np.random.Generator, spec: GenomeSpec, canvas: _Canvas, peaks: _Peaks,
                   cofactor: np.ndarray, length: int) -> None:
    """GC-rich stretches around bound sites, then co-factor sites near them (at the centre of site-less peaks)."""
    gc_rich = np.flatnonzero(rng.random(spec.n_sites) < spec.gc_flank_fraction)
    for c in np.unique(peaks.chrom[gc_rich]):
        mine = gc_rich[peaks.chrom[gc_rich] == c]
        positions = (peaks.centre[mine, None] + np.arange(-spec.gc_flank_bp, spec.gc_flank_bp + length)).ravel()
        strong = rng.random(len(positions)) < spec.gc_flank_gc
        first = rng.random(len(positions)) < 0.5
        stretch = np.where(strong, np.where(first, 1, 2), np.where(first, 0, 3)).astype(np.uint8)
        _deaminate(rng, stretch, spec.cpg_depletion)  # within the stretch; boundaries are rare
        canvas.codes[canvas.names[c]][positions] = stretch
    with_cofactor = np.flatnonzero(rng.random(len(peaks.centre)) < spec.cofactor_fraction)
    distance = rng.integers(spec.cofactor_distance[0], spec.cofactor_distance[1] + 1, len(with_cofactor))
    side = np.where(rng.random(len(with_cofactor)) < 0.5, -1, 1)
    at = peaks.centre[with_cofactor] + side * distance - np.where(side < 0, spec.cofactor_length, 0)
    at = np.where(with_cofactor >= spec.n_sites, peaks.centre[with_cofactor], at)  # site-less: at the centre
    canvas.plant(rng, sample_sites(rng, cofactor, len(with_cofactor)), at, peaks.chrom[with_cofactor],
                 "cofactor", 1.0, with_cofactor)


def _plant_bound_sites(rng: np.random.Generator, spec: GenomeSpec, canvas: _Canvas, peaks: _Peaks,
                       matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """One site per bound peak (the first ``n_snv_sites`` consensus), some with a second one.

    Returns the rows of the consensus (``snv``) sites and the index of the first of them
    among all planted rows.
    """
    n_sites, length = spec.n_sites, len(matrix)
    site_at = peaks.centre[:n_sites] - length // 2
    strength = _strengths(rng, spec.site_strength, n_sites)
    sampled = sample_sites(rng, matrix, n_sites, strength, spec.temperature)
    n_snv = min(spec.n_snv_sites, n_sites)
    sampled[:n_snv] = matrix.argmax(axis=1)
    strength[:n_snv] = 1.0
    kinds = np.where(np.arange(n_sites) < n_snv, "snv", "bound")
    first_row = canvas.n_planted
    rows = canvas.plant(rng, sampled, site_at, peaks.chrom[:n_sites], kinds, strength, np.arange(n_sites))
    second = np.flatnonzero((rng.random(n_sites) < spec.second_site_fraction) & (np.arange(n_sites) >= n_snv))
    offset = rng.integers(15, 46, len(second)) * np.where(rng.random(len(second)) < 0.5, -1, 1)
    second_sites = sample_sites(rng, matrix, len(second), _strengths(rng, spec.site_strength, len(second)),
                                spec.temperature)
    canvas.plant(rng, second_sites, site_at[second] + offset, peaks.chrom[second], "bound", strength[second], second)
    return rows[:n_snv], first_row


def _breaking_snvs(snv_rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """One SNV per consensus site: in the most informative column, best base -> worst base.

    ``site`` is left 0; :func:`_site_table` fills it once the sites are sorted.
    """
    information = (matrix * np.log2(matrix / 0.25)).sum(axis=1)
    column = int(np.argmax(information))
    pos = np.where(snv_rows["strand"] == "+", snv_rows["start"] + column, snv_rows["end"] - 1 - column)
    best, worst = matrix[column].argmax(), matrix[column].argmin()
    flip = snv_rows["strand"] == "-"
    variants = np.zeros(len(snv_rows), VARIANT_DTYPE)
    variants["chrom"], variants["pos"] = snv_rows["chrom"], pos
    variants["ref"] = np.where(flip, "ACGT"[3 - best], "ACGT"[best])
    variants["alt"] = np.where(flip, "ACGT"[3 - worst], "ACGT"[worst])
    return variants


def _plant_decoys(rng: np.random.Generator, spec: GenomeSpec, canvas: _Canvas, layout: _Layout,
                  matrix: np.ndarray, shuffled: np.ndarray) -> None:
    """Decoys outside peaks: the planted matrix, then its column-shuffled version."""
    for kind, role, source in (("decoy", 2, matrix), ("shuffled", 3, shuffled)):
        slots = np.flatnonzero(layout.role == role)
        strength = _strengths(rng, spec.decoy_strength, len(slots))
        canvas.plant(rng, sample_sites(rng, source, len(slots), strength, spec.temperature),
                     layout.centre[slots] - len(matrix) // 2, layout.chrom[slots], kind, strength, -1)


def _peak_table(rng: np.random.Generator, peaks: _Peaks, names: np.ndarray,
                n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`PEAK_DTYPE` table with drawn signals, sorted; and each peak's new index."""
    n_peaks = len(peaks.centre)
    signal = np.round(rng.gamma(4.0, 5.0, n_peaks) * np.where(np.arange(n_peaks) < n_sites, 1.0, 0.5), 3)
    table = np.zeros(n_peaks, PEAK_DTYPE)
    table["chrom"], table["start"], table["end"] = names[peaks.chrom], peaks.start, peaks.end
    table["summit"], table["signal"], table["has_site"] = peaks.summit, signal, np.arange(n_peaks) < n_sites
    order = np.lexsort((table["start"], peaks.chrom))
    new_index = np.empty(n_peaks, np.int64)
    new_index[order] = np.arange(n_peaks)
    return table[order], new_index


def _site_table(site_rows: list[np.ndarray], names: np.ndarray, peak_index: np.ndarray, variants: np.ndarray,
                first_snv_row: int) -> np.ndarray:
    """All planted sites, sorted, with peak indexes remapped; fills ``variants['site']`` (in place)."""
    sites = np.concatenate(site_rows)
    sites["peak"] = np.where(sites["peak"] >= 0, peak_index[np.maximum(sites["peak"], 0)], -1)
    chrom_rank = {name: i for i, name in enumerate(names)}
    site_order = np.lexsort((sites["start"], np.vectorize(chrom_rank.get, otypes=[np.int64])(sites["chrom"])))
    site_index = np.empty(len(sites), np.int64)
    site_index[site_order] = np.arange(len(sites))
    variants["site"] = site_index[first_snv_row + np.arange(len(variants))]
    return sites[site_order]


def simulate(spec: GenomeSpec) -> SimulatedGenome:
    """Simulate the genome that ``spec`` describes (see :func:`simulate_genome`).

    The stages run in a fixed order on one generator seeded with ``spec.seed``: motifs,
    background and gaps, slots, peaks, context, bound sites, SNVs, decoys, assembly.

    Parameters
    ----------
    spec : GenomeSpec
        The settings; ``motif_counts`` is required.

    Returns
    -------
    SimulatedGenome
        Sequences, peaks, planted sites (0-based, half-open), variants and matrices.
    """
    if spec.motif_counts is None:
        raise ValueError("motif_counts is required, e.g. read_jaspar('resources/motifs/MA0491.3.jaspar')[1]")
    params = spec.params()
    matrix = spec.motif_matrix()
    length = len(matrix)
    _check_slot_size(spec, length)
    rng = np.random.default_rng(spec.seed)
    cofactor = rng.dirichlet(np.full(4, 0.25), spec.cofactor_length) * 0.9 + 0.025
    shuffled = matrix[rng.permutation(length)]
    sizes = spec.chrom_sizes()

    canvas = _background_and_gaps(rng, spec, sizes)
    layout = _choose_slots(rng, spec, *_free_slots(sizes, canvas.gaps, spec.slot_bp))
    peaks = _draw_peaks(rng, spec, layout, length)
    _plant_context(rng, spec, canvas, peaks, cofactor, length)  # first: sites are written over it
    snv_rows, first_snv_row = _plant_bound_sites(rng, spec, canvas, peaks, matrix)
    variants = _breaking_snvs(snv_rows, matrix)
    _plant_decoys(rng, spec, canvas, layout, matrix, shuffled)

    sequences = canvas.sequences()
    peak_table, peak_index = _peak_table(rng, peaks, canvas.names, spec.n_sites)
    sites = _site_table(canvas.site_rows, canvas.names, peak_index, variants, first_snv_row)
    return SimulatedGenome(sequences=sequences, peaks=peak_table, sites=sites, variants=variants, matrix=matrix,
                           cofactor_matrix=cofactor, params=params)


def simulate_genome(seed: int = 0, size_bp: int = 10_000_000, chromosomes: int | dict[str, int] = 2,
                    motif_counts: np.ndarray | None = None, n_sites: int = 1_000,
                    site_strength: float | tuple[float, float] = (0.6, 1.0), temperature: float = 1.0,
                    second_site_fraction: float = 0.15, peaks_without_site: float = 0.1,
                    peak_width: tuple[int, int] = (100, 400), decoys_per_site: float = 1.0,
                    decoy_strength: float | tuple[float, float] = (0.6, 1.0), shuffled_per_site: float = 1.0,
                    cofactor_fraction: float = 0.5, cofactor_distance: tuple[int, int] = (60, 300),
                    cofactor_length: int = 8, gc_flank_fraction: float = 0.3, gc_flank_bp: int = 150,
                    gc_flank_gc: float = 0.62, n_snv_sites: int = 20, gc_mean: float = 0.41,
                    gc_sd: float = 0.06, isochore_bp: float = 3_000, cpg_depletion: float = 0.75,
                    repeat_fraction: float = 0.1, n_gaps: int = 4, slot_bp: int = 2_000,
                    site_anywhere: bool = False) -> SimulatedGenome:
    """Simulate a genome with planted binding sites, decoys, peaks and context.

    A thin wrapper: ``simulate(GenomeSpec(seed=seed, ...))``.

    Parameters
    ----------
    seed, size_bp, chromosomes, motif_counts, n_sites, site_strength, temperature, \
second_site_fraction, peaks_without_site, peak_width, decoys_per_site, decoy_strength, \
shuffled_per_site, cofactor_fraction, cofactor_distance, cofactor_length, gc_flank_fraction, \
gc_flank_bp, gc_flank_gc, n_snv_sites, gc_mean, gc_sd, isochore_bp, cpg_depletion, \
repeat_fraction, n_gaps, slot_bp, site_anywhere
        The fields of :class:`GenomeSpec`, with the same names, defaults and meanings
        (documented there); ``motif_counts`` is required.

    Returns
    -------
    SimulatedGenome
        Sequences, peaks, planted sites (0-based, half-open), variants and matrices.
    """
    return simulate(GenomeSpec(**locals()))  # locals() holds exactly the arguments here
