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


def demo_files(seed: int = SEED) -> dict[str, bytes]:
    """The demo's files as ``{file name: uncompressed content}``."""
    rng = np.random.default_rng(seed)
    fasta, peaks, blacklist, sizes = io.BytesIO(), [], [], []
    for name, size in CHROMOSOMES.items():
        seq, chrom_peaks, chrom_blacklist = _chromosome(rng, name, size)
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
