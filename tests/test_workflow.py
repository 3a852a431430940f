"""End-to-end: the real Snakemake workflow on the embedded demo."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import tfbinding
from conftest import REPO, demo_config, run_snakemake
from tfbinding.layout import ARRAYS

pytestmark = pytest.mark.slow


# CI time: the demo's models with fewer epochs (they leave the plateau by epoch 4-5); the
# README's command runs the full default config
FAST_TRAINING = {"epochs": 8, "early_stopping_start": 4, "improved_epochs": 3}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The README's main job: the demo config, every model trained and evaluated."""
    workdir = tmp_path_factory.mktemp("demo")
    run_snakemake(workdir, demo_config(training=FAST_TRAINING))
    return workdir


def dataset_only(**overrides) -> dict:
    return demo_config(models=[], **overrides)


def test_demo_trains_and_evaluates_every_model(demo_run):
    evaluation = demo_run / "results" / "demo" / "evaluation"
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert set(metrics["models"]) == {"no_dropout", "no_weights", "full", "improved", "motif_baseline"}
    assert metrics["models"]["full"]["roc_auc"]["value"] >= 0.9
    for model in ("no_dropout", "no_weights", "full", "improved"):
        folder = demo_run / "results" / "demo" / "models" / model
        assert (folder / "model.keras").exists() and (folder / "curves.png").exists()
        history = (folder / "history.csv").read_text().splitlines()
        assert len(history) >= 2 and "val_pr_auc" in history[0]
        assert "val_pr_auc" in (demo_run / f"results/demo/logs/train/{model}.log").read_text()
    for name in ("metrics.md", "roc.png", "pr.png"):
        assert (evaluation / name).stat().st_size > 0
    report = demo_run / "report.html"
    run_snakemake(demo_run, demo_config(training=FAST_TRAINING), "--report", str(report))
    assert "metrics.md" in report.read_text(errors="replace")


def test_demo_outputs_follow_the_contract(demo_run):
    data = tfbinding.load_dataset(demo_run / "results" / "demo" / "dataset")
    manifest = data.manifest
    total = 0
    for split in ("train", "valid", "test"):
        arrays = getattr(data, split)
        n = len(arrays["y"])
        assert n > 0
        width = manifest["window"]["length"] + 2 * manifest["window"]["flank"]
        assert arrays["X"].dtype == np.uint8 and arrays["X"].shape == (n, width, 4)
        assert arrays["y"].dtype == np.float32 and arrays["y"].shape == (n, 1)
        assert arrays["w"].dtype == np.float32 and arrays["w"].shape == (n, 1)
        assert arrays["ids"].dtype.kind == "U" and arrays["ids"].shape == (n,)
        assert set(np.unique(arrays["y"])) == {0.0, 1.0}
        assert arrays["X"][:1000].sum(axis=2).max() == 1
        y, w = arrays["y"][:, 0], arrays["w"][:, 0]
        assert w[y == 1].sum() == pytest.approx(n / 2, rel=1e-5)
        assert w[y == 0].sum() == pytest.approx(n / 2, rel=1e-5)
        assert manifest["splits"][split]["windows"] == n
        assert manifest["splits"][split]["positives"] == int(y.sum())
        total += n
    assert manifest["totals"]["windows"] == total
    dropped = manifest["totals"]["dropped"]
    assert dropped["n_fraction"] > 0 and dropped["blacklist"] > 0
    assert manifest["totals"]["considered"] == total + sum(dropped.values())
    assert manifest["inputs"]["peaks"]["sha256"]
    assert manifest["inputs"]["fasta"]["compression"] == "gzip"
    assert manifest["config"]["name"] == "demo"
    assert manifest["versions"]["bedtools"] != "not found"


def test_demo_ids_match_the_sequence(demo_run):
    from pyfaidx import Fasta

    data = tfbinding.load_dataset(demo_run / "results" / "demo" / "dataset")
    [prepared] = (demo_run / "resources" / "genomes").glob("*/synthetic_genome.fa")
    fasta = Fasta(str(prepared))
    flank = data.manifest["window"]["flank"]
    rng = np.random.default_rng(0)
    for row in rng.choice(len(data.test["ids"]), 200, replace=False):
        chrom, span = str(data.test["ids"][row]).split(":")
        start, end = map(int, span.split("-"))
        bases = str(fasta[chrom][start:end]).upper()  # pyfaidx slices are 0-based, half-open
        expected = np.array([[base == c for c in "ACGT"] for base in bases], dtype=np.uint8)
        np.testing.assert_array_equal(data.test["X"][row][flank:flank + end - start], expected)


def test_same_config_gives_byte_identical_arrays(demo_run, tmp_path):
    run_snakemake(tmp_path, dataset_only())
    for split in ("train", "valid", "test"):
        for name in ARRAYS:
            first = (demo_run / "results/demo/dataset" / split / f"{name}.npy").read_bytes()
            second = (tmp_path / "results/demo/dataset" / split / f"{name}.npy").read_bytes()
            assert first == second, f"{split}/{name}.npy differs between two runs"


def test_flanks_and_blocks_split(tmp_path):
    config = dataset_only(name="flanked", windows={"flank": 50, "stride": 50},
                         split={"method": "blocks", "block_size": 200_000})
    run_snakemake(tmp_path, config)
    data = tfbinding.load_dataset(tmp_path / "results" / "flanked" / "dataset")
    assert data.train["X"].shape[1:] == (201, 4)
    assert data.manifest["totals"]["dropped"]["block_boundary"] > 0
    blocks = {}
    for split in ("train", "valid", "test"):
        for window_id in getattr(data, split)["ids"]:
            chrom, span = str(window_id).split(":")
            blocks.setdefault((chrom, int(span.split("-")[0]) // 200_000), set()).add(split)
    assert all(len(splits) == 1 for splits in blocks.values())


def test_chromosome_split_holds_out_whole_chromosomes(tmp_path):
    config = dataset_only(name="held_out", chromosomes=["chr1", "chr2", "chr3"],
                         split={"method": "chromosome", "valid": ["chr2"], "test": ["chr3"]})
    run_snakemake(tmp_path, config)
    data = tfbinding.load_dataset(tmp_path / "results" / "held_out" / "dataset")
    for split, chrom in (("train", "chr1"), ("valid", "chr2"), ("test", "chr3")):
        assert {str(i).split(":")[0] for i in getattr(data, split)["ids"]} == {chrom}


@pytest.mark.parametrize("change, message", [
    ({"windws": {"length": 101}}, "windws"),
    ({"windows": {"length": "101"}}, "is not of type 'integer'"),
    ({"split": {"fractions": [0.5, 0.1, 0.1]}}, "sum to 0.7, not 1"),
])
def test_bad_config_is_a_clear_error(tmp_path, change, message):
    result = run_snakemake(tmp_path, dataset_only(**change), "--dry-run", check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_chromosome_name_mismatch_fails_without_output(tmp_path):
    peaks = tmp_path / "ensembl_peaks.bed"
    peaks.write_text("1\t100000\t100300\n2\t200000\t200200\n")
    result = run_snakemake(tmp_path, dataset_only(peaks=str(peaks)), check=False)
    assert result.returncode != 0
    log = (tmp_path / "results/demo/logs/labels/chr1.log").read_text()
    assert "chrom_aliases" in log and "'1': 'chr1'" in log
    assert not (tmp_path / "results/demo/chromosomes/chr1/labels.npz").exists()
    assert not (tmp_path / "results/demo/dataset").exists()


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--snakefile",
                             str(REPO / "Snakefile"), "--directory", str(REPO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_check_passes():
    """The rules follow the Snakemake catalog's formatting (snakefmt --check)."""
    files = [str(REPO / "Snakefile"), str(REPO / "workflow")]
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_negative_downsampling_keeps_test_whole_and_reweights(tmp_path):
    config = dataset_only(name="sampled", weights="none",
                          split={"method": "chromosome", "valid": ["chr2"], "test": ["chr3"],
                                 "negative_fraction": 0.25},
                          chromosomes=["chr1", "chr2", "chr3"])
    run_snakemake(tmp_path, config)
    data = tfbinding.load_dataset(tmp_path / "results" / "sampled" / "dataset")
    per_chrom = data.manifest["chromosomes"]
    assert per_chrom["chr3"]["dropped"]["negative_downsampling"] == 0
    assert len(data.test["y"]) == per_chrom["chr3"]["labelled"]
    kept = 1 - per_chrom["chr1"]["dropped"]["negative_downsampling"] / (
        per_chrom["chr1"]["labelled"] - per_chrom["chr1"]["positives"])
    assert kept == pytest.approx(0.25, abs=0.02)
    assert data.train["y"].sum() == per_chrom["chr1"]["positives"]  # every positive is kept
    train_y, train_w = data.train["y"][:, 0], data.train["w"][:, 0]
    assert set(np.unique(train_w[train_y == 0])) == {4.0} and set(np.unique(train_w[train_y == 1])) == {1.0}
    assert set(np.unique(data.test["w"])) == {1.0}


def test_demo_predicts_held_out_chromosomes_end_to_end(tmp_path):
    """config/demo_predict.yaml, with fewer epochs: train on chr1, predict chr2 and chr3."""
    import yaml

    config = yaml.safe_load((REPO / "config" / "demo_predict.yaml").read_text())
    base = demo_config()
    for key in ("genome", "peaks", "blacklist", "motif"):
        config[key] = base[key]
    config["training"] = {"epochs": 3, "early_stopping_start": 0}
    config["models"] = ["full"]
    config["predict"]["hub"] = {"genome": "hg19", "email": "me@example.org"}  # names only: the files are checked
    run_snakemake(tmp_path, config)
    predictions = tmp_path / "results" / "demo_predict" / "predictions"
    track_db = (predictions / "hub/hg19/trackDb.txt").read_text()
    assert "bigDataUrl ../../genome.bw" in track_db and (predictions / "hub/hub.txt").exists()
    for chrom, size in (("chr2", 1_600_000), ("chr3", 1_000_000)):
        metrics = json.loads((predictions / f"{chrom}.metrics.json").read_text())
        assert metrics["peaks"] > 0 and metrics["windows"] > size / 50 * 0.9
        assert 0.0 <= metrics["roc_auc"] <= 1.0
        last_end = 0
        for line in (predictions / f"{chrom}.bedGraph").read_text().splitlines()[1:]:
            name, start, end, _ = line.split("\t")
            assert name == chrom and last_end <= int(start) < int(end) <= size
            last_end = int(end)
        assert (predictions / f"{chrom}.bw").stat().st_size > 0
    # one genome-wide bigWig and sites file (rule merge_predictions), equal to the per-chromosome ones
    import pyBigWig

    genome = pyBigWig.open(str(predictions / "genome.bw"))
    for chrom in ("chr2", "chr3"):
        single = pyBigWig.open(str(predictions / f"{chrom}.bw"))
        assert genome.intervals(chrom) == single.intervals(chrom)
        single.close()
    genome.close()
    sites = [line.split("\t") for line in (predictions / "genome.sites.narrowPeak").read_text().splitlines()]
    assert len(sites) == sum(len((predictions / f"{c}.sites.narrowPeak").read_text().splitlines())
                             for c in ("chr2", "chr3"))
    assert all(len(row) == 10 for row in sites)
    threshold = json.loads((tmp_path / "results/demo_predict/models/full/threshold.json").read_text())
    assert threshold["validation_fdr"] <= 0.1



# --------------------------------------------------------------------------- issue 11: runs as people run them

def tiny_inputs(root, peaks="chr1\t1000\t1400\nchr1\t9000\t9300\nchr2\t500\t800\n"):
    """A small random genome (chr1 20 kb, an empty record, chr2 10 kb, a 50-bp contig)
    and a peaks file; quick to build."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    records = []
    for name, size in (("chr1", 20_000), ("chrUn_empty", 0), ("chr2", 10_000), ("chrUn_short", 50)):
        bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
        records.append("\n".join([f">{name}"] + [bases[i:i + 60] for i in range(0, size, 60)]))
    (root / "tiny.fa").write_text("\n".join(records) + "\n")
    (root / "peaks.bed").write_text(peaks)
    return root / "tiny.fa", root / "peaks.bed"


def tiny_config(root, **overrides):
    fasta, peaks = tiny_inputs(root / "inputs")
    config = dataset_only(name="tiny", genome={"fasta": str(fasta)}, peaks=str(peaks), blacklist=None,
                          chromosomes=["chr1", "chr2", "chrUn_short"],
                          windows={"length": 100, "stride": 100, "flank": 0},
                          split={"method": "random", "fractions": [0.6, 0.2, 0.2]})
    config.update(overrides)
    return config


def test_venv_snakemake_builds_without_the_venv_on_path_and_short_contigs_are_dropped(tmp_path):
    """`.venv/bin/snakemake` from cron or an IDE: PATH lacks the venv, yet every rule finds
    the tfbinding command; the 50-bp contig gives zero windows, counted as a drop."""
    import os
    from pathlib import Path

    snakemake = Path(sys.executable).parent / "snakemake"
    config = tiny_config(tmp_path)
    (tmp_path / "config.yaml").write_text(__import__("yaml").safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run([str(snakemake), "--snakefile", str(REPO / "Snakefile"), "--directory",
                             str(tmp_path), "--configfile", str(tmp_path / "config.yaml"), "--cores", "2"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = tfbinding.load_dataset(tmp_path / "results/tiny/dataset").manifest
    short = manifest["chromosomes"]["chrUn_short"]
    assert short["considered"] == 1 and short["dropped"]["past_chrom_end"] == 1 and short["labelled"] == 0
    assert manifest["chromosomes"]["chr1"]["considered"] == 200


def test_peaks_replaced_with_an_older_mtime_rebuild_the_dataset(tmp_path):
    """cp -p, rsync -a and tar x keep an older mtime: the content decides, not the mtime."""
    import hashlib
    import os
    import shutil

    config = tiny_config(tmp_path)
    run_snakemake(tmp_path, config)
    dataset = tmp_path / "results/tiny/dataset"
    first = tfbinding.load_dataset(dataset).manifest
    peaks = tmp_path / "inputs/peaks.bed"
    replacement = tmp_path / "other_peaks.bed"
    replacement.write_text("chr1\t15000\t15500\nchr2\t4000\t4300\nchr2\t7000\t7100\n")
    old = peaks.stat().st_mtime - 3600
    os.utime(replacement, (old, old))
    shutil.copy2(replacement, peaks)  # what cp -p does
    assert peaks.stat().st_mtime < (dataset / "manifest.json").stat().st_mtime
    run_snakemake(tmp_path, config)
    second = tfbinding.load_dataset(dataset).manifest
    assert second["inputs"]["peaks"]["sha256"] == hashlib.sha256(replacement.read_bytes()).hexdigest()
    assert second["inputs"]["peaks"]["sha256"] != first["inputs"]["peaks"]["sha256"]
    assert second["chromosomes"]["chr2"]["positives"] != first["chromosomes"]["chr2"]["positives"]
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr  # and unchanged content rebuilds nothing


def test_a_failed_rule_shows_its_error_on_the_console(tmp_path):
    config = tiny_config(tmp_path)
    (tmp_path / "inputs/peaks.bed").write_bytes(b"")
    result = run_snakemake(tmp_path, config, check=False)
    assert result.returncode != 0
    assert "tfbinding error: " in result.stderr and "the peaks file holds no peak" in result.stderr
    assert not (tmp_path / "results/tiny/dataset").exists()
    # with the profile (show-failed-logs), Snakemake also prints the failed rule's log
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                             "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
                             "--profile", str(REPO / "profiles/local"), "--cores", "2"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    shown = result.stdout + result.stderr
    assert re.search(r"Logfile results/tiny/logs/labels/chr\w+\.log:", shown)
    assert shown.count("the peaks file holds no peak") >= 2  # the console line, and the log
    # the opt-in builds a dataset without positives
    config["allow_empty_peaks"] = True
    run_snakemake(tmp_path, config)
    assert tfbinding.load_dataset(tmp_path / "results/tiny/dataset").manifest["totals"]["positives"] == 0


def test_an_empty_record_listed_in_chromosomes_is_called_empty(tmp_path):
    config = tiny_config(tmp_path, chromosomes=["chr1", "chrUn_empty"])
    result = run_snakemake(tmp_path, config, check=False)
    assert result.returncode != 0
    assert "chrUn_empty are empty: a header line with no sequence" in result.stderr


def test_a_killed_dataset_steps_partial_folder_is_removed_on_the_next_run(tmp_path):
    config = tiny_config(tmp_path)
    run_snakemake(tmp_path, config)
    child = subprocess.Popen(["true"])
    child.wait()
    stale = tmp_path / f"results/tiny/.dataset.partial-{child.pid}"
    (stale / "train").mkdir(parents=True)
    (stale / "train/X.npy").write_bytes(b"\0" * 4096)
    run_snakemake(tmp_path, config, "--forcerun", "dataset")
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "results/tiny").iterdir() if p.name.startswith(".")) == []


def test_a_random_split_of_overlapping_windows_is_refused_in_the_split_step(tmp_path):
    """The leak check looks at the windows' real spans (window plus flanks), so it runs in
    the split step, once the windows are known; its message names the fix."""
    config = tiny_config(tmp_path, windows={"length": 100, "stride": 50, "flank": 0})
    result = run_snakemake(tmp_path, config, check=False)
    assert result.returncode != 0
    assert "tfbinding error: split.method 'random'" in result.stderr and "Use split.method: blocks" in result.stderr
    assert not (tmp_path / "results/tiny/split.npz").exists()
