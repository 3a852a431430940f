"""A tiny hand-made genome for the dataset-step tests, and the truth computed base by base.

The genome, peaks and blacklist are made by hand here; every expected value is computed
base by base in this file, independently of the package's numpy code. Windows are tiled
every LENGTH + 2 * FLANK bp, so X rows never share bases and a random split is leak-free;
OVERLAPPING_STRIDE makes windows that do share bases.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tfbinding.data.dataset import assemble_dataset
from tfbinding.data.labels import build_labels
from tfbinding.data.loader import Dataset
from tfbinding.data.onehot import build_onehot
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.data.split import SplitSpec, split_windows
from tfbinding.data.windows import build_windows
from tfbinding.layout import onehot_path

LENGTH, FLANK, MAX_N = 100, 20, 0.5
STRIDE = LENGTH + 2 * FLANK
OVERLAPPING_STRIDE = 50
CHROMS = ["chr1", "chr2", "chr3"]


def make_sequences() -> dict[str, str]:
    rng = np.random.default_rng(42)
    seqs = {name: "".join(rng.choice(list("ACGT"), size)) for name, size in
            (("chr1", 1000), ("chr2", 600), ("chr3", 400))}
    chr1 = list(seqs["chr1"])
    chr1[300:380] = "N" * 80                               # an N run
    chr1[500:540] = [c.lower() for c in chr1[500:540]]     # soft-masked bases
    seqs["chr1"] = "".join(chr1)
    chr2 = list(seqs["chr2"])
    chr2[10:12] = ["R", "y"]                                # IUPAC codes
    seqs["chr2"] = "".join(chr2)
    return seqs


SEQUENCES = make_sequences()

# (chrom, start, end, summit offset) — 0-based half-open
PEAKS = [
    ("chr1", 120, 180, 30),
    ("chr1", 170, 260, -1),   # overlaps the first; merged [120, 260)
    ("chr1", 820, 830, 5),
    ("chr2", 0, 40, 10),
    ("chr2", 300, 400, 99),
    ("chr3", 100, 150, 0),
]
BLACKLIST = [("chr1", 700, 720)]


def write_fasta(path: Path, width: int = 60) -> None:
    lines = []
    for name, sequence in SEQUENCES.items():
        lines.append(f">{name}")
        lines.extend(sequence[i:i + width] for i in range(0, len(sequence), width))
    path.write_text("\n".join(lines) + "\n")


def write_peaks(path: Path) -> None:
    rows = ["track name=tiny type=narrowPeak"]
    rows += [f"{c}\t{s}\t{e}\tp{i}\t0\t.\t1.0\t1.0\t1.0\t{o}" for i, (c, s, e, o) in enumerate(PEAKS)]
    path.write_text("\n".join(rows) + "\n")


# --------------------------------------------------------------------------- brute-force truth

def coverage(chrom: str) -> np.ndarray:
    cov = np.zeros(len(SEQUENCES[chrom]), dtype=bool)
    for c, s, e, _ in PEAKS:
        if c == chrom:
            cov[s:e] = True
    return cov


def expected_kept(chrom: str, stride: int = STRIDE) -> list[int]:
    """Tiled starts that fit, avoid the blacklist, and have at most MAX_N non-ACGT bases."""
    sequence = SEQUENCES[chrom]
    kept = []
    for start in range(0, len(sequence), stride):
        if start + LENGTH > len(sequence):
            continue
        if any(c == chrom and start < e and s < start + LENGTH for c, s, e in BLACKLIST):
            continue
        window = sequence[start:start + LENGTH]
        if sum(b not in "ACGTacgt" for b in window) / LENGTH > MAX_N:
            continue
        kept.append(start)
    return kept


def expected_drops(stride: int = STRIDE) -> dict[str, int]:
    """Tiled windows dropped by the first filter that applies: past the end, blacklist, N."""
    drops = {"past_chrom_end": 0, "blacklist": 0, "n_fraction": 0}
    for chrom, sequence in SEQUENCES.items():
        for start in range(0, len(sequence), stride):
            if start + LENGTH > len(sequence):
                drops["past_chrom_end"] += 1
            elif any(c == chrom and start < e and s < start + LENGTH for c, s, e in BLACKLIST):
                drops["blacklist"] += 1
            elif sum(b not in "ACGTacgt" for b in sequence[start:start + LENGTH]) / LENGTH > MAX_N:
                drops["n_fraction"] += 1
    return drops


def expected_onehot(chrom: str, start: int) -> np.ndarray:
    sequence = SEQUENCES[chrom]
    rows = np.zeros((LENGTH + 2 * FLANK, 4), dtype=np.uint8)
    for i, pos in enumerate(range(start - FLANK, start + LENGTH + FLANK)):
        if 0 <= pos < len(sequence) and sequence[pos].upper() in "ACGT":
            rows[i, "ACGT".index(sequence[pos].upper())] = 1
    return rows


def parse_id(window_id: str) -> tuple[str, int, int]:
    chrom, span = window_id.split(":")
    start, end = span.split("-")
    return chrom, int(start), int(end)


def build_pieces(root: Path, stride: int = STRIDE) -> dict:
    """The per-chromosome windows and labels files, built by the per-chromosome steps."""
    root.mkdir(parents=True, exist_ok=True)
    raw = root / "raw.fa"
    write_fasta(raw)
    fasta = root / "genome" / "genome.fa"
    prepare_fasta(raw, fasta)
    peaks = root / "peaks.narrowPeak"
    write_peaks(peaks)
    blacklist = root / "blacklist.bed"
    blacklist.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in BLACKLIST))
    labels, drops = [], {}
    for chrom in CHROMS:
        windows = root / "windows" / f"{chrom}.npz"
        drops[chrom] = build_windows(fasta, chrom, windows, length=LENGTH, stride=stride, gc=True,
                                     max_n_fraction=MAX_N, blacklist=blacklist)
        label_file = root / "labels" / f"{chrom}.npz"
        build_labels(windows, peaks, fasta, chrom, label_file, length=LENGTH)
        labels.append(label_file)
    return {"root": root, "fasta": fasta, "peaks": peaks, "blacklist": blacklist,
            "labels": labels, "drops": drops}


def build(pieces, work: Path, split: SplitSpec = SplitSpec(fractions=(0.6, 0.2, 0.2), seed=3),
          weights: str = "balanced", provenance: dict | None = None) -> dict:
    """split_windows -> build_onehot per chromosome -> assemble_dataset into work/dataset."""
    table = work / "split.npz"
    split_windows(CHROMS, pieces["labels"], table, length=LENGTH, flank=FLANK, split=split,
                  weights=weights)
    prefixes = [work / "onehot" / chrom for chrom in CHROMS]
    for chrom, prefix in zip(CHROMS, prefixes):
        written = build_onehot(table, pieces["fasta"], chrom, prefix)
        assert written == [onehot_path(prefix, s) for s in ("train", "valid", "test")]
    return assemble_dataset(table, prefixes, work / "dataset", provenance=provenance)


def all_ids(data: Dataset) -> list[str]:
    return [str(i) for name in ("train", "valid", "test") for i in getattr(data, name)["ids"]]
