"""Shared test helpers: paths, and a real Snakemake run in a scratch directory."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def run_snakemake(workdir: Path, config: dict, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` with ``config`` written to a file there."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(config_file), "--cores", "2",
               "--quiet", *extra]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def shared_jund() -> Path:
    if not SHARED_JUND.exists():
        pytest.skip(f"{SHARED_JUND} is not here (it is beside the repository in CI)")
    return SHARED_JUND
