"""End to end: the real workflow on the demo with two tasks, one bigWig signal channel and
GC-matched negatives (the bigWig is made with pyBigWig here)."""
from __future__ import annotations

import gzip

import numpy as np
import pyBigWig
import pytest

import tfbinding
from conftest import DEMO, demo_config, run_snakemake

pytestmark = pytest.mark.slow


def test_two_tasks_one_signal_gc_matched(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    lines = gzip.decompress((DEMO / "synthetic_peaks.narrowPeak.gz").read_bytes()).decode().splitlines()
    (inputs / "second.narrowPeak").write_text("\n".join(lines[::2]) + "\n")
    sizes = [(name, int(size)) for name, size in
             (line.split()[:2] for line in (DEMO / "synthetic.chrom.sizes").read_text().splitlines())]
    bw = pyBigWig.open(str(inputs / "signal.bw"), "w")
    bw.addHeader(sizes)
    for name, size in sizes:
        starts = np.arange(0, size, 100)
        bw.addEntries([name] * len(starts), starts.tolist(), ends=np.minimum(starts + 100, size).tolist(),
                      values=(starts % 7).astype(float).tolist())
    bw.close()
    config = demo_config(
        name="mt", models=[],
        peaks=[{"name": "JUND", "peaks": str(DEMO / "synthetic_peaks.narrowPeak.gz")},
               {"name": "SECOND", "peaks": str(inputs / "second.narrowPeak")}],
        labels={"min_overlap_bp": 50, "exclude_ambiguous": True},
        split={"negatives": "gc_matched"},
        signals=[{"name": "dnase", "bigwig": str(inputs / "signal.bw"), "transform": "log1p"}])
    run_snakemake(tmp_path, config, "--until", "dataset")
    data = tfbinding.load_dataset(tmp_path / "results/mt/dataset")
    assert data.manifest["tasks"] == ["JUND", "SECOND"]
    assert data.manifest["split"]["gc_matching"]["by_split"].keys() == {"train", "valid"}
    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        n, span = split["X"].shape[:2]
        assert split["y"].shape == split["w"].shape == (n, 2)
        assert split["S"].shape == (n, span, 1) and split["S"].dtype == np.float32
        assert np.all(split["S"][...] >= 0) and np.all(split["S"][...] <= np.log1p(6) + 1e-6)
        assert data.manifest["splits"][name]["tasks"]["SECOND"]["positives"] == int(split["y"][:, 1].sum())


def test_a_task_table_gives_the_tasks(tmp_path):
    """peaks: a .tsv task table; relative peaks paths are taken from the table's folder."""
    table = tmp_path / "inputs" / "tasks.tsv"
    table.parent.mkdir()
    (tmp_path / "inputs" / "second.narrowPeak").write_text("chr1\t20000\t20300\n")
    table.write_text(f"name\tpeaks\nJUND\t{DEMO / 'synthetic_peaks.narrowPeak.gz'}\nSECOND\tsecond.narrowPeak\n")
    result = run_snakemake(tmp_path, demo_config(name="table", models=[], peaks=str(table)),
                           "--dry-run", "--printshellcmds", "--quiet", "host")
    assert "--tasks JUND SECOND" in result.stdout
    assert str(tmp_path / "inputs" / "second.narrowPeak") in result.stdout
    table.write_text("name\tpeaks\nJUND\tmissing.bed\n")
    result = run_snakemake(tmp_path, demo_config(name="table", models=[], peaks=str(table)),
                           "--dry-run", check=False)
    assert result.returncode != 0
    assert f"{table}, line 2: peaks file 'missing.bed' of task 'JUND' does not exist" in result.stdout + result.stderr
