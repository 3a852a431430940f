"""End-to-end: the real Snakemake workflow on the embedded demo."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tfbinding
from conftest import REPO, demo_config, run_snakemake

pytestmark = pytest.mark.slow
ARRAYS = ("X", "y", "w", "ids")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The README's main job: the default demo config, every model trained and evaluated."""
    workdir = tmp_path_factory.mktemp("demo")
    run_snakemake(workdir, demo_config())
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
    run_snakemake(demo_run, demo_config(), "--report", str(report))
    assert "metrics.md" in report.read_text(errors="replace")


def test_demo_outputs_follow_the_contract(demo_run):
    data = tfbinding.load_dataset(demo_run / "results" / "demo" / "dataset")
    manifest = data.manifest
    total = 0
    for split in ("train", "valid", "test"):
        arrays = getattr(data, split)
        n = len(arrays["y"])
        assert n > 0
        assert arrays["X"].dtype == np.uint8 and arrays["X"].shape == (n, 101, 4)
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
    fasta = Fasta(str(demo_run / "resources" / "genomes" / "synthetic_genome.fa"))
    rng = np.random.default_rng(0)
    for row in rng.choice(len(data.test["ids"]), 200, replace=False):
        chrom, span = str(data.test["ids"][row]).split(":")
        start, end = map(int, span.split("-"))
        bases = str(fasta[chrom][start:end]).upper()  # pyfaidx slices are 0-based, half-open
        expected = np.array([[base == c for c in "ACGT"] for base in bases], dtype=np.uint8)
        np.testing.assert_array_equal(data.test["X"][row], expected)


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
    ({"windows": {"stride": 50}}, "blocks"),
    ({"split": {"fractions": [0.5, 0.1, 0.1]}}, "sum to 1"),
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
    run_snakemake(tmp_path, config)
    predictions = tmp_path / "results" / "demo_predict" / "predictions"
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
    threshold = json.loads((tmp_path / "results/demo_predict/models/full/threshold.json").read_text())
    assert threshold["validation_fdr"] <= 0.1
