"""The workflow on a real single-node Slurm (tests/cluster/run_test.sh), and the conda
envs against pyproject.toml."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from conftest import REPO


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="starts Slurm and munge daemons: needs root")
@pytest.mark.skipif(shutil.which("slurmctld") is None, reason="slurm-wlm is not installed (.ci/install installs it)")
def test_demo_through_real_slurm_equals_a_local_run():
    result = subprocess.run(["bash", str(REPO / "tests" / "cluster" / "run_test.sh")],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "OK: the Slurm run's 12 arrays equal the local run's byte for byte" in result.stdout
    assert "12 jobs COMPLETED" in result.stdout


# conda names of the PyPI packages where they differ
CONDA_NAMES = {"snakemake": "snakemake-minimal", "matplotlib": "matplotlib-base", "pybigwig": "pybigwig"}


def _requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*", text)
    assert match, f"not a 'name>=version' requirement: {text!r}"
    return match.group(1).lower(), match.group(2)


def test_conda_env_lists_the_same_packages_and_minimum_versions_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(dep) for dep in project["dependencies"])
    env = yaml.safe_load((REPO / "envs" / "tfbinding.yaml").read_text())
    listed = dict(_requirement(dep) for dep in env["dependencies"]
                  if isinstance(dep, str) and ">=" in dep)
    for name, version in wanted.items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in listed, f"envs/tfbinding.yaml lacks {conda_name} (pyproject: {name}>={version})"
        assert listed[conda_name] == version, f"{conda_name}: envs says >={listed[conda_name]}, pyproject >={version}"
    assert "bedtools" in listed  # the binary behind pybedtools
