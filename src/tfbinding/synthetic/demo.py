"""The embedded demo: a small, SYNTHETIC genome with planted AP-1 sites and peaks.

Nothing here is real biology. It exists so that the default workflow runs offline in
minutes and has a binding signal that is learnable but not trivial:

* a background with regional GC content, soft-masked (lowercase) repeat copies and
  N gaps (a telomere-like run at each chromosome start and a few internal gaps);
* peaks that carry clusters of AP-1 sites (``TGA[CG]TCA``, JunD's motif) from edge to
  edge, some peaks without any site, and decoy sites outside peaks;
* a small blacklist of "artifact" regions, some of which hold peaks;
* a second factor's peaks (``synthetic_peaks_second.narrowPeak.gz``) over a subset of the
  E-boxes (``CACGTG``) that the genome holds by chance, favouring those near JunD peaks,
  G/C-flanked ones, plus some peaks without a site;
* an accessibility track (``synthetic_accessibility.bw``, counts in 50-bp bins): noisy
  background, bumps over most peaks of both factors and over open regions without peaks.

The second factor and the track come from separate random streams, so the genome, JunD's
peaks, the blacklist and the VCF stay the same bytes. :func:`write_demo_data` is
deterministic: the same seed gives the same files.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pyBigWig

from tfbinding.synthetic.fasta import fasta_bytes, text_lines, write_files

SEED = 20261124
CHROMOSOMES = {"chr1": 2_400_000, "chr2": 1_600_000, "chr3": 1_000_000}
AP1_SITES = (b"TGACTCA", b"TGAGTCA")
PEAKS_PER_MBP = 60
PEAKS_WITHOUT_SITE = 0.08
DECOYS_PER_MBP = 60
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """ACGT bytes with GC content drifting between isochore-like 20-kb regions."""
    regions = -(-size // 20_000)
    gc = np.clip(rng.normal(0.41, 0.05, regions), 0.3, 0.6).repeat(20_000)[:size]
    u = rng.random(size)
    strong = u < gc
    first = rng.random(size) < 0.5
    codes = np.where(strong, np.where(first, 1, 2), np.where(first, 0, 3))
    return _BASES[codes]


def _soft_mask_repeats(rng: np.random.Generator, seq: np.ndarray) -> None:
    """Insert mutated copies of three repeat families, lowercased, over ~8% of the sequence."""
    families = [_BASES[rng.integers(0, 4, n)] for n in (300, 150, 1_000)]
    covered, target = 0, int(0.08 * len(seq))
    while covered < target:
        family = families[rng.integers(0, len(families))]
        copy = family.copy()
        mutate = rng.random(len(copy)) < 0.1
        copy[mutate] = _BASES[rng.integers(0, 4, int(mutate.sum()))]
        at = int(rng.integers(0, len(seq) - len(copy)))
        seq[at:at + len(copy)] = copy + 32  # lowercase
        covered += len(copy)


def _gaps(rng: np.random.Generator, size: int) -> list[tuple[int, int]]:
    """A 10-kb N run at the start, a 30-kb 'centromere' and a few short gaps."""
    gaps = [(0, 10_000), (size // 2, size // 2 + 30_000)]
    for _ in range(4):
        start = int(rng.integers(20_000, size - 20_000))
        gaps.append((start, start + int(rng.integers(100, 2_000))))
    return gaps


def _in_gap(position: int, gaps: list[tuple[int, int]], margin: int) -> bool:
    return any(start - margin <= position < end + margin for start, end in gaps)


def _plant(rng: np.random.Generator, seq: np.ndarray, position: int) -> None:
    site = AP1_SITES[rng.integers(0, 2)]
    seq[position:position + len(site)] = np.frombuffer(site, np.uint8)


def _narrowpeak(rng: np.random.Generator, chrom: str, start: int, end: int, name: str, summit: int) -> str:
    """A narrowPeak line with a random signal value (score, signal, p and q columns)."""
    signal = float(np.round(rng.gamma(4.0, 5.0), 3))
    return (f"{chrom}\t{start}\t{end}\t{name}\t{min(1000, int(signal * 20))}\t.\t"
            f"{signal}\t{np.round(signal / 2, 3)}\t{np.round(signal / 3, 3)}\t{summit}")


def _peak_spans(peaks: list[str], chrom: str) -> list[tuple[int, int, int]]:
    """(start, end, absolute summit) of the narrowPeak lines on ``chrom``."""
    fields = (line.split("\t") for line in peaks)
    return [(int(f[1]), int(f[2]), int(f[1]) + int(f[9])) for f in fields if f[0] == chrom]


def _chromosome(rng: np.random.Generator, name: str, size: int) -> tuple[np.ndarray, list[str], list[str]]:
    seq = _background(rng, size)
    _soft_mask_repeats(rng, seq)
    gaps = _gaps(rng, size)
    n_peaks = int(PEAKS_PER_MBP * size / 1e6)
    peaks, blacklist = [], []
    for index in range(n_peaks):
        while True:
            summit = int(rng.integers(15_000, size - 15_000))
            if not _in_gap(summit, gaps, 1_000):
                break
        half = int(rng.integers(40, 160))
        start, end = summit - half, summit + half
        if rng.random() >= PEAKS_WITHOUT_SITE:
            # a cluster of sites from edge to edge, so that most windows touching the peak
            # hold one: the label is then learnable from sequence
            position = start
            while position <= end - 7:
                _plant(rng, seq, position)
                position += int(rng.integers(20, 45))
            _plant(rng, seq, end - 7)
        peaks.append(_narrowpeak(rng, name, start, end, f"{name}_peak{index}", half))
    for _ in range(int(DECOYS_PER_MBP * size / 1e6)):
        _plant(rng, seq, int(rng.integers(12_000, size - 12_000)))
    for gap_start, gap_end in gaps:
        seq[gap_start:gap_end] = ord("N")
    for _ in range(2):
        start = int(rng.integers(15_000, size - 20_000))
        blacklist.append(f"{name}\t{start}\t{start + 3_000}")
    return seq, peaks, blacklist


_AP1 = re.compile(rb"TGA[CG]TCA")


def _variants(rng: np.random.Generator, sequences: dict[str, np.ndarray], peaks: list[str],
              per_chrom_sites: int = 12, per_chrom_background: int = 40,
              indel_rng: np.random.Generator | None = None) -> list[str]:
    """VCF records: SNVs that break planted AP-1 sites (the site's G at offset 1 becomes C:
    TGA[CG]TCA -> TCA[CG]TCA), and background SNVs outside peaks. The broken sites are
    isolated, with no other AP-1 site within 300 bp (the span a flanked model reads), so
    that one SNV can change a window's score; sites inside peaks come in clusters.

    With ``indel_rng``, each chromosome also gets a deletion, an insertion and an MNV, each
    breaking another isolated site (VCF style: an indel's REF and ALT share their first
    base). They come from their own random stream, so the SNVs stay as they were.
    """
    records = []
    for name, seq in sequences.items():
        upper = seq.tobytes().upper()
        in_peak = np.zeros(len(seq), dtype=bool)
        for start, end, _ in _peak_spans(peaks, name):
            in_peak[start:end] = True
        every = np.array([m.start() for m in _AP1.finditer(upper)])
        gaps = np.diff(every)
        isolated = np.ones(len(every), dtype=bool)
        isolated[1:] &= gaps > 300
        isolated[:-1] &= gaps > 300
        sites = every[isolated].tolist()
        chosen = sorted(rng.choice(sites, min(per_chrom_sites, len(sites)), replace=False))
        for index, at in enumerate(chosen):
            records.append((name, int(at) + 1, f"{name}_site{index + 1}", "G", "C"))
        if indel_rng is not None:
            records += _site_breaking_indels(indel_rng, name, upper, sorted(set(sites) - set(chosen)))
        candidates = np.flatnonzero(~in_peak & np.isin(np.frombuffer(upper, np.uint8), np.frombuffer(b"ACGT", np.uint8)))
        for index, at in enumerate(sorted(rng.choice(candidates, per_chrom_background, replace=False))):
            ref = chr(upper[at])
            alt = "ACGT".replace(ref, "")[int(rng.integers(0, 3))]
            records.append((name, int(at), f"{name}_bg{index + 1}", ref, alt))
    records.sort(key=lambda r: (list(sequences).index(r[0]), r[1]))
    header = ["##fileformat=VCFv4.2", "##source=tfbinding demo-data (synthetic, not real variants)"]
    header += [f"##contig=<ID={name},length={len(seq)}>" for name, seq in sequences.items()]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    # POS is 1-based: the 0-based position plus one
    return header + [f"{c}\t{pos + 1}\t{i}\t{ref}\t{alt}\t.\tPASS\t." for c, pos, i, ref, alt in records]


def _site_breaking_indels(rng: np.random.Generator, name: str, upper: bytes,
                          sites: list[int]) -> list[tuple[str, int, str, str, str]]:
    """A deletion (``TGAC`` -> ``T``), an insertion (``A`` -> ``AGGG`` after ``TGA``) and an
    MNV (``GA`` -> ``CT``) at three of ``sites`` (0-based starts of isolated AP-1 sites).
    """
    deletion, insertion, mnv = (int(at) for at in sorted(rng.choice(sites, 3, replace=False)))
    text = upper.decode()
    return [(name, deletion, f"{name}_del1", text[deletion:deletion + 4], text[deletion]),
            (name, insertion + 2, f"{name}_ins1", text[insertion + 2], text[insertion + 2] + "GGG"),
            (name, mnv + 1, f"{name}_mnv1", text[mnv + 1:mnv + 3], "CT")]


_EBOX = re.compile(rb"(?=CACGTG)")
SECOND_PEAKS_PER_MBP = 35
SECOND_WITHOUT_SITE = 0.1
NEAR_JUND = 300  # bp from a JunD peak's edge
_NEAR_WEIGHT, _GC_FLANK_WEIGHT = 12.0, 4.0


def _second_factor(rng: np.random.Generator, sequences: dict[str, np.ndarray], jund: list[str]) -> list[str]:
    """narrowPeak lines of a second, E-box (``CACGTG``) binding factor.

    It binds a weighted draw of the E-boxes that the genome holds by chance: a site within
    ``NEAR_JUND`` bp of a JunD peak weighs 12×, a G/C-flanked one (``[GC]CACGTG[GC]``) 4×,
    so the tasks co-occur in part and the bound sites differ a little from the unbound
    ones by sequence. ``SECOND_WITHOUT_SITE`` more peaks have no E-box within 300 bp.
    """
    lines = []
    for name, seq in sequences.items():
        upper, size = seq.tobytes().upper(), len(seq)
        every = np.array([m.start() for m in _EBOX.finditer(upper)], dtype=np.int64)
        sites = every[(every >= 15_000) & (every < size - 15_000)]
        near = np.zeros(len(sites), dtype=bool)
        for start, end, _ in _peak_spans(jund, name):
            near |= (sites >= start - NEAR_JUND) & (sites < end + NEAR_JUND)
        gc_flanked = np.array([upper[at - 1] in b"GC" and upper[at + 6] in b"GC" for at in sites])
        weight = np.where(near, _NEAR_WEIGHT, 1.0) * np.where(gc_flanked, _GC_FLANK_WEIGHT, 1.0)
        n_bound = min(int(SECOND_PEAKS_PER_MBP * size / 1e6), len(sites))
        centres = (rng.choice(sites, n_bound, replace=False, p=weight / weight.sum()) + 3).tolist()
        while len(centres) < n_bound + round(SECOND_WITHOUT_SITE * n_bound):
            at = int(rng.integers(15_000, size - 15_000))
            if b"N" not in upper[at - 300:at + 300] and not np.any(np.abs(every - at) < 300):
                centres.append(at)
        chrom_lines = []
        for index, centre in enumerate(centres):
            half = int(rng.integers(40, 160))
            chrom_lines.append(_narrowpeak(rng, name, centre - half, centre + half,
                                           f"{name}_ebox_peak{index}", half))
        lines += sorted(chrom_lines, key=lambda line: int(line.split("\t")[1]))
    return lines


ACCESSIBILITY_BIN = 50
CLOSED_PEAKS = 0.15  # peaks without an accessibility bump
OPEN_REGIONS_PER_MBP = 40  # bumps without a peak


def _accessibility(rng: np.random.Generator, sequences: dict[str, np.ndarray],
                   peak_sets: list[list[str]]) -> dict[str, np.ndarray]:
    """Synthetic accessibility counts per ``ACCESSIBILITY_BIN``-bp bin of each chromosome.

    A background that varies by 20-kb region and by bin, plus a bump (Gaussian, 60-150 bp
    wide, gamma-distributed height) at the summit of each peak of ``peak_sets`` except a
    ``CLOSED_PEAKS`` share, and at ``OPEN_REGIONS_PER_MBP`` random places; the counts are
    Poisson draws around that level, and bins mostly in an N gap are 0.
    """
    tracks = {}
    for name, seq in sequences.items():
        size = len(seq)
        bins = size // ACCESSIBILITY_BIN
        if bins * ACCESSIBILITY_BIN != size:
            raise ValueError(f"{name}: {size} bp is not a multiple of {ACCESSIBILITY_BIN}")
        middle = np.arange(bins) * ACCESSIBILITY_BIN + ACCESSIBILITY_BIN / 2
        regional = np.exp(rng.normal(0.0, 0.3, -(-size // 20_000)))
        level = 1.5 * regional.repeat(20_000 // ACCESSIBILITY_BIN)[:bins] * rng.gamma(4.0, 0.25, bins)
        summits = np.array([summit for peaks in peak_sets for *_, summit in _peak_spans(peaks, name)])
        summits = summits[rng.random(len(summits)) >= CLOSED_PEAKS]
        open_regions = rng.integers(15_000, size - 15_000, int(OPEN_REGIONS_PER_MBP * size / 1e6))
        places = np.concatenate([summits, open_regions])
        for place, height, width in zip(places, rng.gamma(3.0, 8.0, len(places)),
                                        rng.uniform(60.0, 150.0, len(places))):
            lo = max(0, int((place - 4 * width) // ACCESSIBILITY_BIN))
            hi = min(bins, int((place + 4 * width) // ACCESSIBILITY_BIN) + 1)
            level[lo:hi] += height * np.exp(-0.5 * ((middle[lo:hi] - place) / width) ** 2)
        counts = rng.poisson(level).astype(np.float32)
        gap = (seq == ord("N")).reshape(bins, ACCESSIBILITY_BIN).mean(axis=1) > 0.5
        counts[gap] = 0.0
        tracks[name] = counts
    return tracks


def _bigwig_bytes(tracks: dict[str, np.ndarray], step: int) -> bytes:
    """The bytes of a bigWig holding each chromosome's values in ``step``-bp bins."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "track.bw")
        bigwig = pyBigWig.open(path, "w")
        bigwig.addHeader([(name, len(values) * step) for name, values in tracks.items()])
        for name, values in tracks.items():
            bigwig.addEntries(name, 0, values=values.astype(np.float64).tolist(), span=step, step=step)
        bigwig.close()
        return Path(path).read_bytes()


def demo_files(seed: int = SEED) -> dict[str, bytes]:
    """The demo's files as ``{file name: uncompressed content}``.

    Parameters
    ----------
    seed : int, default SEED
        Seed of the genome's and JunD's random stream (the variants, the second factor
        and the accessibility track use streams derived from it).

    Returns
    -------
    dict of str to bytes
        File name to its uncompressed content (``.gz`` names are gzipped on writing).
    """
    rng = np.random.default_rng(seed)
    peaks, blacklist, sequences = [], [], {}
    for name, size in CHROMOSOMES.items():
        seq, chrom_peaks, chrom_blacklist = _chromosome(rng, name, size)
        sequences[name] = seq
        peaks += sorted(chrom_peaks, key=lambda line: int(line.split("\t")[1]))
        blacklist += sorted(chrom_blacklist, key=lambda line: int(line.split("\t")[1]))
    second = _second_factor(np.random.default_rng([seed, 3]), sequences, peaks)
    accessibility = _accessibility(np.random.default_rng([seed, 4]), sequences, [peaks, second])
    return {
        "synthetic_genome.fa.gz": fasta_bytes(sequences, "synthetic demo chromosome, not real sequence"),
        "synthetic_peaks.narrowPeak.gz": text_lines(peaks),
        "synthetic_blacklist.bed": text_lines(blacklist),
        "synthetic.chrom.sizes": text_lines([f"{name}\t{size}" for name, size in CHROMOSOMES.items()]),
        # a separate generator, so that the genome stays the same bytes
        "synthetic_variants.vcf": text_lines(_variants(np.random.default_rng([seed, 2]), sequences, peaks,
                                                          indel_rng=np.random.default_rng([seed, 5]))),
        "synthetic_peaks_second.narrowPeak.gz": text_lines(second),
        "synthetic_accessibility.bw": _bigwig_bytes(accessibility, ACCESSIBILITY_BIN),
    }


def write_demo_data(out_dir: str | os.PathLike, seed: int = SEED) -> list[Path]:
    """Write the demo files into ``out_dir`` (``.gz`` ones as plain gzip, as UCSC serves).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Target folder.
    seed : int, default SEED
        As :func:`demo_files`.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    return list(write_files(demo_files(seed), out_dir).values())
