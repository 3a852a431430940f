"""The embedded synthetic demo data is what the generator makes, and has its promised traits."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from conftest import DEMO
from tfbinding.demo import CHROMOSOMES, demo_files


@pytest.fixture(scope="module")
def files():
    return demo_files()


def test_committed_demo_files_are_the_generators_output(files):
    for name, content in files.items():
        stored = (DEMO / name).read_bytes()
        if name.endswith(".gz"):
            stored = gzip.decompress(stored)
        assert stored == content, f"resources/demo/{name} differs from `tfbinding demo-data`"


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
