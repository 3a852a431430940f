"""Shared test helpers: paths, and a real Snakemake run in a scratch directory."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"
SHARED_JUND = REPO.parent / "shared" / "data" / "jund_chr22"


def demo_config(**overrides) -> dict:
    """The default demo config with absolute paths, updated with ``overrides``."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["genome"]["fasta"] = str(DEMO / "synthetic_genome.fa.gz")
    config["peaks"] = str(DEMO / "synthetic_peaks.narrowPeak.gz")
    config["blacklist"] = str(DEMO / "synthetic_blacklist.bed")
    config["motif"] = str(REPO / "resources" / "motifs" / "MA0491.3.jaspar")
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def run_snakemake(workdir: Path, config: dict, *extra: str, check: bool = True,
                  quiet: bool = True) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` with ``config`` written to a file there
    (``quiet=False`` keeps what ``--printshellcmds`` prints, on every Snakemake version)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(config_file), "--cores", "2",
               *(["--quiet"] if quiet else []), *extra]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def shared_jund() -> Path:
    if not SHARED_JUND.exists():
        pytest.skip(f"{SHARED_JUND} is not here (it is beside the repository in CI)")
    return SHARED_JUND


@pytest.fixture(scope="module")
def pieces(tmp_path_factory):
    """The tiny genome's windows and labels files (see tiny_genome.py), non-overlapping."""
    from tiny_genome import build_pieces
    return build_pieces(tmp_path_factory.mktemp("tiny"))


TINY_LENGTH = 30


def _tiny_split(rng, n, positive_fraction=0.2):
    """Random windows; the positives carry TGACTCA at position 10."""
    from tfbinding.data.onehot import one_hot
    from tfbinding.data.weights import balanced_weights

    labels = (rng.random(n) < positive_fraction).astype(np.float32)
    seqs = ["".join(rng.choice(list("ACGT"), TINY_LENGTH)) for _ in range(n)]
    seqs = [s[:10] + "TGACTCA" + s[17:] if y else s for s, y in zip(seqs, labels)]
    X = np.stack([one_hot(s) for s in seqs])
    return {"X": X, "y": labels.reshape(-1, 1), "w": balanced_weights(labels).reshape(-1, 1),
            "ids": np.array([f"chrT:{i * TINY_LENGTH}-{(i + 1) * TINY_LENGTH}" for i in range(n)])}


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A hand-made dataset folder (train 400, valid 120, test 120 windows of 30 bp)."""
    import json

    folder = tmp_path_factory.mktemp("tiny_models") / "dataset"
    rng = np.random.default_rng(0)
    for name, n in (("train", 400), ("valid", 120), ("test", 120)):
        (folder / name).mkdir(parents=True)
        for key, array in _tiny_split(rng, n).items():
            np.save(folder / name / f"{key}.npy", array)
    (folder / "manifest.json").write_text(json.dumps({"format": "tfbinding-dataset/1"}))
    return folder


PREDICT_LENGTH = 50
PREDICT_SIZES = {"chrA": 60_000, "chrB": 20_000}


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A 'full' model trained on a small genome with planted TGACTCA clusters (chrA), and
    the genome (chrB held out)."""
    from tfbinding.config import TrainingConfig
    from tfbinding.data.dataset import assemble_dataset
    from tfbinding.data.labels import build_labels
    from tfbinding.data.onehot import build_onehot
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.split import SplitSpec, split_windows
    from tfbinding.data.windows import build_windows
    from tfbinding.models.train import train_model

    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    peaks, fasta = [], []
    for chrom, size in PREDICT_SIZES.items():
        seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].copy()
        seq[1000:1500] = ord("N")
        for start in rng.choice(np.arange(2000, size - 200, 400), size // 1500, replace=False):
            for offset in range(0, 120, 30):
                seq[start + offset:start + offset + 7] = np.frombuffer(b"TGACTCA", np.uint8)
            peaks.append(f"{chrom}\t{start}\t{start + 127}\n")
        fasta.append(f">{chrom}\n" + "\n".join(seq[i:i + 60].tobytes().decode() for i in range(0, size, 60)))
    (root / "g.fa").write_text("\n".join(fasta) + "\n")
    (root / "peaks.bed").write_text("".join(peaks))
    genome = root / "prepared" / "g.fa"
    prepare_fasta(root / "g.fa", genome)
    build_windows(genome, "chrA", root / "w.npz", length=PREDICT_LENGTH, stride=PREDICT_LENGTH)
    build_labels(root / "w.npz", root / "peaks.bed", genome, "chrA", root / "l.npz", length=PREDICT_LENGTH)
    split_windows(["chrA"], [root / "l.npz"], root / "split.npz", length=PREDICT_LENGTH,
                  split=SplitSpec(fractions=(0.6, 0.2, 0.2)))
    build_onehot(root / "split.npz", genome, "chrA", root / "X")
    assemble_dataset(root / "split.npz", [root / "X"], root / "dataset")
    config = TrainingConfig(epochs=4, batch_size=64, early_stopping_start=0, learning_rate=0.005)
    train_model(root / "dataset", "full", root / "full", config, threads=1)
    return root, genome
