"""The embedded demo: a small, SYNTHETIC genome with planted AP-1 sites and peaks.

Nothing here is real biology. It exists so that the default workflow runs offline in
minutes and has a binding signal that is learnable but not trivial:

* a background with regional GC content, soft-masked (lowercase) repeat copies and
  N gaps (a telomere-like run at each chromosome start and a few internal gaps);
* peaks that carry clusters of AP-1 sites (``TGA[CG]TCA``, JunD's motif) from edge to
  edge, some peaks without any site, and decoy sites outside peaks;
* a small blacklist of "artifact" regions, some of which hold peaks.

:func:`write_demo_data` is deterministic: the same seed gives the same sequences.
"""
from __future__ import annotations

import gzip
import io
import os
import re
from pathlib import Path

import numpy as np

from .atomic import atomic_path

SEED = 20261124
CHROMOSOMES = {"chr1": 2_400_000, "chr2": 1_600_000, "chr3": 1_000_000}
AP1_SITES = (b"TGACTCA", b"TGAGTCA")
PEAKS_PER_MBP = 60
PEAKS_WITHOUT_SITE = 0.08
DECOYS_PER_MBP = 60
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_LINE = 60


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
        signal = float(np.round(rng.gamma(4.0, 5.0), 3))
        peaks.append(f"{name}\t{start}\t{end}\t{name}_peak{index}\t{min(1000, int(signal * 20))}\t.\t"
                     f"{signal}\t{np.round(signal / 2, 3)}\t{np.round(signal / 3, 3)}\t{half}")
    for _ in range(int(DECOYS_PER_MBP * size / 1e6)):
        _plant(rng, seq, int(rng.integers(12_000, size - 12_000)))
    for gap_start, gap_end in gaps:
        seq[gap_start:gap_end] = ord("N")
    for _ in range(2):
        start = int(rng.integers(15_000, size - 20_000))
        blacklist.append(f"{name}\t{start}\t{start + 3_000}")
    return seq, peaks, blacklist


def _gzip_bytes(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        handle.write(payload)
    return buffer.getvalue()


_AP1 = re.compile(rb"TGA[CG]TCA")


def _variants(rng: np.random.Generator, sequences: dict[str, np.ndarray], peaks: list[str],
              per_chrom_sites: int = 12, per_chrom_background: int = 40) -> list[str]:
    """VCF records: SNVs that break planted AP-1 sites (the site's G at offset 1 becomes C:
    TGA[CG]TCA -> TCA[CG]TCA), and background SNVs outside peaks. The broken sites are
    isolated, with no other AP-1 site within 300 bp (the span a flanked model reads), so
    that one SNV can change a window's score; sites inside peaks come in clusters."""
    records = []
    for name, seq in sequences.items():
        upper = seq.tobytes().upper()
        spans = [(int(f[1]), int(f[2])) for f in (line.split("\t") for line in peaks) if f[0] == name]
        in_peak = np.zeros(len(seq), dtype=bool)
        for start, end in spans:
            in_peak[start:end] = True
        every = np.array([m.start() for m in _AP1.finditer(upper)])
        gaps = np.diff(every)
        isolated = np.ones(len(every), dtype=bool)
        isolated[1:] &= gaps > 300
        isolated[:-1] &= gaps > 300
        sites = every[isolated].tolist()
        for index, at in enumerate(sorted(rng.choice(sites, min(per_chrom_sites, len(sites)), replace=False))):
            records.append((name, int(at) + 1, f"{name}_site{index + 1}", "G", "C"))
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


def demo_files(seed: int = SEED) -> dict[str, bytes]:
    """The demo's files as ``{file name: uncompressed content}``."""
    rng = np.random.default_rng(seed)
    fasta, peaks, blacklist, sizes, sequences = io.BytesIO(), [], [], [], {}
    for name, size in CHROMOSOMES.items():
        seq, chrom_peaks, chrom_blacklist = _chromosome(rng, name, size)
        sequences[name] = seq
        fasta.write(f">{name} synthetic demo chromosome, not real sequence\n".encode())
        lines = [seq[i:i + _LINE].tobytes() for i in range(0, size, _LINE)]
        fasta.write(b"\n".join(lines) + b"\n")
        peaks += sorted(chrom_peaks, key=lambda line: int(line.split("\t")[1]))
        blacklist += sorted(chrom_blacklist, key=lambda line: int(line.split("\t")[1]))
        sizes.append(f"{name}\t{size}")
    return {
        "synthetic_genome.fa.gz": fasta.getvalue(),
        "synthetic_peaks.narrowPeak.gz": ("\n".join(peaks) + "\n").encode(),
        "synthetic_blacklist.bed": ("\n".join(blacklist) + "\n").encode(),
        "synthetic.chrom.sizes": ("\n".join(sizes) + "\n").encode(),
        # a separate generator, so that the genome stays the same bytes
        "synthetic_variants.vcf": ("\n".join(_variants(np.random.default_rng([seed, 2]), sequences, peaks))
                                   + "\n").encode(),
    }


def write_demo_data(out_dir: str | os.PathLike, seed: int = SEED) -> list[Path]:
    """Write the demo files into ``out_dir`` (``.gz`` ones as plain gzip, as UCSC serves)."""
    written = []
    for name, content in demo_files(seed).items():
        path = Path(out_dir) / name
        with atomic_path(path) as tmp:
            tmp.write_bytes(_gzip_bytes(content) if name.endswith(".gz") else content)
        written.append(path)
    return written
