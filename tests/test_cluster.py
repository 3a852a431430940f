"""The workflow on a real single-node Slurm (tests/cluster/run_test.sh)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="starts Slurm and munge daemons: needs root")
@pytest.mark.skipif(shutil.which("slurmctld") is None, reason="slurm-wlm is not installed (.ci/install-cluster installs it)")
def test_demo_through_real_slurm_equals_a_local_run():
    # the script's snakemake is the one beside the Python running the tests (venv or not)
    path = f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
    result = subprocess.run(["bash", str(REPO / "tests" / "cluster" / "run_test.sh")],
                            capture_output=True, text=True, timeout=900, env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "OK: the Slurm run's 12 arrays equal the local run's byte for byte" in result.stdout
    assert "12 jobs COMPLETED" in result.stdout
