"""The simulated benchmark genome: deterministic, coordinates as documented, a usable oracle."""
from __future__ import annotations

import dataclasses
import gzip
import inspect
from pathlib import Path

import numpy as np
import pytest

from tfbinding.models.motif_baseline import read_jaspar
from tfbinding.synthetic.fasta import fasta_lines, gzip_bytes
from tfbinding.synthetic.simulate import (
    SITE_KINDS,
    GenomeSpec,
    oracle_scores,
    sample_sites,
    simulate,
    simulate_genome,
)

JASPAR = Path(__file__).resolve().parents[1] / "resources" / "motifs" / "MA0491.3.jaspar"
SMALL = dict(size_bp=1_200_000, chromosomes=2, n_sites=120, n_snv_sites=10)


@pytest.fixture(scope="module")
def counts():
    return read_jaspar(JASPAR)[1]


@pytest.fixture(scope="module")
def genome(counts):
    return simulate_genome(seed=3, motif_counts=counts, **SMALL)


def _codes(seq: np.ndarray) -> np.ndarray:
    """0-3 for ACGT (any case), 4 otherwise."""
    table = np.full(256, 4, np.uint8)
    for code, base in enumerate(b"ACGT"):
        table[base] = table[base + 32] = code
    return table[seq]


def test_same_seed_same_bytes_other_seed_other_bytes(counts, genome, tmp_path):
    again = simulate_genome(seed=3, motif_counts=counts, **SMALL)
    assert again.files() == genome.files()
    first = genome.write(tmp_path / "a")
    second = again.write(tmp_path / "b")
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name
    other = simulate_genome(seed=4, motif_counts=counts, **SMALL)
    assert other.files()["genome.fa.gz"] != genome.files()["genome.fa.gz"]


def test_written_files_match_the_object(genome, tmp_path):
    paths = genome.write(tmp_path)
    lines = gzip.decompress(paths["genome.fa.gz"].read_bytes()).split(b"\n")
    assert lines[0].startswith(b">chr1")
    assert max(len(line) for line in lines if not line.startswith(b">")) == 60
    body = b"".join(line for line in lines[1:] if not line.startswith(b">"))
    assert body == b"".join(seq.tobytes() for seq in genome.sequences.values())
    assert paths["chrom.sizes"].read_text() == "".join(f"{k}\t{v}\n" for k, v in genome.chrom_sizes.items())
    peaks = [line.split("\t") for line in gzip.decompress(paths["peaks.narrowPeak.gz"].read_bytes()).decode().splitlines()]
    assert len(peaks) == len(genome.peaks) and all(len(fields) == 10 for fields in peaks)
    for fields, peak in zip(peaks, genome.peaks):
        assert int(fields[1]) == peak["start"] and int(fields[2]) == peak["end"]
        assert int(fields[1]) + int(fields[9]) == peak["summit"]


def test_background_is_realistic(genome):
    seq = np.concatenate(list(genome.sequences.values()))
    assert (seq == ord("N")).sum() > 1_000                       # gaps
    assert 0.04 < (seq >= ord("a")).mean() < 0.2                   # soft-masked repeats
    codes = _codes(seq)
    acgt = codes[codes < 4]
    gc = np.isin(acgt, (1, 2)).mean()
    assert 0.33 < gc < 0.5
    cpg = np.mean((acgt[:-1] == 1) & (acgt[1:] == 2)) / ((acgt == 1).mean() * (acgt == 2).mean())
    assert cpg < 0.6                                                # CpG depletion
    local_gc = np.isin(codes[: len(codes) // 1000 * 1000], (1, 2)).reshape(-1, 1000).mean(axis=1)
    assert local_gc.std() > 0.03                                    # isochores


def test_sites_are_0_based_half_open_and_match_their_kind(genome):
    assert set(np.unique(genome.sites["kind"])) <= set(SITE_KINDS)
    length = len(genome.matrix)
    consensus = genome.matrix.argmax(axis=1)
    for site in genome.sites_of("snv"):
        codes = _codes(genome.sequences[site["chrom"]][site["start"]:site["end"]])
        assert len(codes) == length
        expected = consensus if site["strand"] == "+" else 3 - consensus[::-1]
        assert (codes == expected).all()
    for variant in genome.variants:
        base = chr(genome.sequences[variant["chrom"]][variant["pos"]]).upper()
        assert base == variant["ref"] != variant["alt"]
        site = genome.sites[variant["site"]]
        assert site["kind"] == "snv" and site["start"] <= variant["pos"] < site["end"]
    for chrom, seq in genome.sequences.items():
        mine = genome.sites[genome.sites["chrom"] == chrom]
        assert (mine["start"] >= 0).all() and (mine["end"] <= len(seq)).all()
        assert not (seq[(mine["start"][:, None] + np.arange(length)).ravel()] == ord("N")).any()


def test_bound_sites_lie_in_their_peaks_and_decoys_outside(genome):
    peaks = genome.peaks
    assert ((peaks["end"] - peaks["start"] >= 100) & (peaks["end"] - peaks["start"] <= 400)).all()
    assert ((peaks["start"] <= peaks["summit"]) & (peaks["summit"] < peaks["end"])).all()
    bound = genome.sites_of(("bound", "snv"))
    owner = peaks[bound["peak"]]
    assert (owner["chrom"] == bound["chrom"]).all()
    assert ((owner["start"] <= bound["start"]) & (bound["end"] <= owner["end"])).all()
    assert owner["has_site"].all()
    for site in genome.sites_of(("decoy", "shuffled")):
        same = peaks[peaks["chrom"] == site["chrom"]]
        assert not ((same["start"] < site["end"]) & (site["start"] < same["end"])).any()


def test_window_labels_follow_the_peaks(genome):
    peak = genome.peaks[0]
    starts = np.array([peak["start"] - 101, peak["start"] - 100, peak["end"] - 1, peak["end"]])
    assert genome.window_labels(peak["chrom"], starts, 101).tolist() == [0, 1, 1, 0]


def test_oracle_separates_positives_from_negatives(genome):
    chrom = "chr1"
    starts = np.arange(0, len(genome.sequences[chrom]) - 101, 101)
    y = genome.window_labels(chrom, starts, 101)
    X = genome.encode(chrom, starts, 101, flank=50)
    assert X.shape == (len(starts), 201, 4)
    scores = oracle_scores(X, genome.matrix)
    assert scores[y == 1].mean() > scores[y == 0].mean() + 2
    ranks = np.argsort(np.argsort(scores)) + 1.0
    n1, n0 = y.sum(), (1 - y).sum()
    roc_auc = (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert 0.6 < roc_auc < 0.99                                     # informative, not trivial
    assert 0.1 < y.mean() * 20 < 2


def test_weak_sites_are_weaker(counts, genome):
    rng = np.random.default_rng(0)
    strong = sample_sites(rng, genome.matrix, 2000)
    weak = sample_sites(rng, genome.matrix, 2000, strength=0.5, temperature=2.0)
    consensus = genome.matrix.argmax(axis=1)
    assert (strong == consensus).mean() > (weak == consensus).mean() + 0.2


@pytest.mark.parametrize("length", [1, 59, 60, 61, 120, 125])
def test_fasta_lines_are_60_columns_each_newline_terminated(length):
    seq = np.frombuffer(bytes(b"ACGTN"[i % 5] for i in range(length)), np.uint8)
    naive = b"\n".join(seq[i:i + 60].tobytes() for i in range(0, length, 60)) + b"\n"
    assert fasta_lines(seq) == naive


def test_gzip_bytes_are_deterministic_plain_gzip():
    payload = b">chr1\nACGT\n" * 100
    assert gzip_bytes(payload) == gzip_bytes(payload)
    assert gzip.decompress(gzip_bytes(payload)) == payload
    assert gzip_bytes(payload)[4:8] == b"\0\0\0\0"  # mtime 0


def test_simulate_genome_takes_exactly_the_specs_fields_and_defaults():
    signature = inspect.signature(simulate_genome).parameters
    spec_fields = {f.name: f.default for f in dataclasses.fields(GenomeSpec)}
    assert list(signature) == list(spec_fields)
    assert {name: p.default for name, p in signature.items()} == spec_fields


def test_simulate_from_a_spec_is_simulate_genome(genome, counts):
    again = simulate(GenomeSpec(seed=3, motif_counts=counts, **SMALL))
    assert again.files() == genome.files()
    assert again.params == genome.params
    assert list(genome.params) == [f.name for f in dataclasses.fields(GenomeSpec)]
