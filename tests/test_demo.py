"""The embedded synthetic demo data is what the generator makes, and has its promised traits."""
from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pyBigWig
import pytest

from conftest import DEMO
from tfbinding.synthetic.demo import ACCESSIBILITY_BIN, CHROMOSOMES, NEAR_JUND, demo_files

# README figures rest on these files: the generator must keep making the same bytes
# (the VCF gained one deletion, insertion and MNV per chromosome on 2026-12-05; its SNVs are as before)
ORIGINAL_SHA256 = {
    "synthetic_genome.fa.gz": "f3bcaa9ff07620452e298732742656c415d4810c98bef6cbb6a827c098259de4",
    "synthetic_peaks.narrowPeak.gz": "656c1e77fdcafd7831f0f2859bde2539f0e6954c09fa7081725e3c0b270ef66a",
    "synthetic_blacklist.bed": "f92a3200d845e133a2f7c5b56cbd8d53e1b610f12161d4452dfd96566c8c7a09",
    "synthetic.chrom.sizes": "e6e987441dbe6ff0437a351d516970fe4c0ee4b06a06d4f0f2bb1d24822598dc",
    "synthetic_variants.vcf": "8af8c4fb895c7cab2271139264f5d40cb4a14aba7673391fb4a2078c8f7814bf",
}


@pytest.fixture(scope="module")
def files():
    return demo_files()


def bigwig_values(path) -> dict[str, np.ndarray]:
    """Each chromosome's per-base values of a bigWig."""
    with pyBigWig.open(str(path)) as bigwig:
        return {chrom: np.array(bigwig.values(chrom, 0, size)) for chrom, size in bigwig.chroms().items()}


def test_committed_demo_files_are_the_generators_output(files, tmp_path):
    for name, content in files.items():
        stored = (DEMO / name).read_bytes()
        if name.endswith(".gz"):
            stored = gzip.decompress(stored)
        if name.endswith(".bw"):  # compared by value: the bytes depend on the zlib build
            (tmp_path / name).write_bytes(content)
            made, kept = bigwig_values(tmp_path / name), bigwig_values(DEMO / name)
            assert made.keys() == kept.keys()
            assert all(np.array_equal(made[c], kept[c]) for c in made), f"resources/demo/{name} differs"
            continue
        assert stored == content, f"resources/demo/{name} differs from `tfbinding demo-data`"


def test_the_first_files_are_unchanged(files):
    assert {name: hashlib.sha256(files[name]).hexdigest() for name in ORIGINAL_SHA256} == ORIGINAL_SHA256


def test_generation_is_deterministic(files):
    assert demo_files() == files
    assert demo_files(seed=1)["synthetic_genome.fa.gz"] != files["synthetic_genome.fa.gz"]


def test_demo_has_gaps_soft_masking_and_peaks_inside_chromosomes(files):
    fasta = files["synthetic_genome.fa.gz"]
    body = np.frombuffer(b"".join(l for l in fasta.split(b"\n") if not l.startswith(b">")), np.uint8)
    assert len(body) == sum(CHROMOSOMES.values())
    assert (body == ord("N")).sum() > 30_000
    assert np.isin(body, np.frombuffer(b"acgt", np.uint8)).mean() > 0.05
    peaks = [line.split("\t") for line in files["synthetic_peaks.narrowPeak.gz"].decode().splitlines()]
    assert all(len(fields) == 10 for fields in peaks)
    for chrom, start, end, *_, summit in peaks:
        assert 0 <= int(start) < int(end) <= CHROMOSOMES[chrom]
        assert 0 <= int(summit) < int(end) - int(start)


def narrowpeak(content: bytes) -> list[tuple[str, int, int, int]]:
    """(chrom, start, end, absolute summit) of each line."""
    rows = [line.split("\t") for line in content.decode().splitlines()]
    assert all(len(fields) == 10 for fields in rows)
    return [(c, int(s), int(e), int(s) + int(summit)) for c, s, e, *_, summit in rows]


def test_second_factor_binds_some_eboxes_partly_near_jund(files):
    sequences = {}
    for block in files["synthetic_genome.fa.gz"].decode().split(">")[1:]:
        head, *lines = block.split("\n")
        sequences[head.split()[0]] = "".join(lines).upper()
    second = narrowpeak(files["synthetic_peaks_second.narrowPeak.gz"])
    jund = narrowpeak(files["synthetic_peaks.narrowPeak.gz"])
    assert 150 <= len(second) <= 250
    with_site = [("CACGTG" in sequences[c][s:e]) for c, s, e, _ in second]
    assert 0.85 <= np.mean(with_site) < 0.95  # some peaks have no site
    for chrom, start, end, summit in second:
        assert 0 <= start <= summit < end <= CHROMOSOMES[chrom]
    near = [any(c == j and js - NEAR_JUND <= summit < je + NEAR_JUND for j, js, je, _ in jund)
            for c, _, _, summit in second]
    bound = sum(with_site)
    every = sum(sequences[c].count("CACGTG") for c in CHROMOSOMES)
    assert 0.1 < np.mean(near) < 0.5 and bound < every / 3  # co-occur in part; most E-boxes unbound


def test_accessibility_is_higher_over_peaks_with_noise(files, tmp_path):
    content = files["synthetic_accessibility.bw"]
    assert len(content) < 300_000
    path = tmp_path / "track.bw"
    path.write_bytes(content)
    values = bigwig_values(path)
    assert {c: len(v) for c, v in values.items()} == CHROMOSOMES
    every = np.concatenate(list(values.values()))
    assert not np.isnan(every).any() and every.min() >= 0
    assert np.all(every.reshape(-1, ACCESSIBILITY_BIN) == every.reshape(-1, ACCESSIBILITY_BIN)[:, :1])
    for name in ("synthetic_peaks.narrowPeak.gz", "synthetic_peaks_second.narrowPeak.gz"):
        at_summits = np.array([values[c][summit] for c, _, _, summit in narrowpeak(files[name])])
        assert np.median(at_summits) > 5 * np.median(every)
        assert 0.05 < np.mean(at_summits <= np.quantile(every, 0.9)) < 0.4  # some peaks are closed
    assert 0.01 < np.mean(every > 10) < 0.1  # open places without peaks, and noise
