"""The real hg19 chr22 JunD data in ../shared/data/jund_chr22/ (see ../shared/README.md)."""
from __future__ import annotations

import gzip

import numpy as np
import pybedtools
import pytest

import tfbinding
from conftest import run_snakemake
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.data.windows import build_windows

pytestmark = pytest.mark.slow


def _read_plain_fasta(path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    return np.frombuffer(b"".join(line for line in lines if not line.startswith(b">")), np.uint8)


@pytest.fixture(scope="module")
def real_dataset(shared_jund, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("jund")
    config = {
        "name": "jund_chr22",
        "genome": {"fasta": str(shared_jund / "chr22.partial.fa.gz")},
        "peaks": str(shared_jund / "jund_chr22.regions.narrowPeak"),
        "chromosomes": ["chr22"],
        "windows": {"length": 101, "bed": str(shared_jund / "jund_chr22.windows.bed"),
                    "max_n_fraction": 1.0},
        "split": {"method": "random", "fractions": [0.8, 0.1, 0.1], "seed": 0},
        "models": [],
    }
    run_snakemake(workdir, config)
    return tfbinding.load_dataset(workdir / "results" / "jund_chr22" / "dataset")


def test_counts_match_the_source_dataset(real_dataset):
    totals = real_dataset.manifest["totals"]
    assert totals["windows"] == 36_915
    assert totals["positives"] == 139
    assert sum(len(getattr(real_dataset, s)["y"]) for s in ("train", "valid", "test")) == 36_915


def test_labels_agree_with_bedtools_intersect(real_dataset, shared_jund):
    bound = pybedtools.BedTool(str(shared_jund / "jund_chr22.windows.bed")).intersect(
        str(shared_jund / "jund_chr22.regions.narrowPeak"), u=True)
    expected = {f"{iv.chrom}:{iv.start}-{iv.end}" for iv in bound}
    pybedtools.cleanup()
    ours = set()
    for split in ("train", "valid", "test"):
        arrays = getattr(real_dataset, split)
        ours |= {str(i) for i in arrays["ids"][arrays["y"][:, 0] == 1]}
    assert len(expected) == 139
    assert ours == expected


def test_every_row_equals_the_fasta_slice(real_dataset, shared_jund):
    sequence = _read_plain_fasta(shared_jund / "chr22.partial.fa.gz")
    for split in ("train", "valid", "test"):
        arrays = getattr(real_dataset, split)
        spans = np.array([str(i).split(":")[1].split("-") for i in arrays["ids"]], dtype=np.int64)
        assert np.all(spans[:, 1] - spans[:, 0] == 101)
        bases = sequence[spans[:, 0, None] + np.arange(101)]  # (n, 101) ASCII
        expected = (bases[..., None] == np.frombuffer(b"ACGT", np.uint8)).astype(np.uint8)
        np.testing.assert_array_equal(np.asarray(arrays["X"]), expected)
        assert np.all(np.asarray(arrays["X"]).sum(axis=2)[bases == ord("N")] == 0)


def test_weights_are_balanced_per_split(real_dataset):
    for split in ("train", "valid", "test"):
        summary = real_dataset.manifest["splits"][split]
        n = summary["windows"]
        assert summary["weight_sum_positive"] == pytest.approx(n / 2, rel=1e-5)
        assert summary["weight_negative"] == pytest.approx(n / (2 * summary["negatives"]), rel=1e-6)


def test_tiling_from_zero_reports_n_drops(shared_jund, tmp_path):
    fasta = tmp_path / "chr22.fa"
    prepare_fasta(shared_jund / "chr22.partial.fa.gz", fasta)
    dropped = build_windows(fasta, "chr22", tmp_path / "windows.npz", length=101, stride=101,
                            max_n_fraction=0.5)
    sequence = _read_plain_fasta(shared_jund / "chr22.partial.fa.gz")
    n_windows = len(sequence) // 101
    unknown = ~np.isin(sequence[: n_windows * 101], np.frombuffer(b"ACGTacgt", np.uint8))
    expected_drops = int((unknown.reshape(n_windows, 101).mean(axis=1) > 0.5).sum())
    assert dropped["n_fraction"] == expected_drops
    assert dropped["past_chrom_end"] == (1 if len(sequence) % 101 else 0)  # 51,304,566 = 101 × 507,966
    with np.load(tmp_path / "windows.npz") as archive:
        assert len(archive["starts"]) == n_windows - expected_drops
