"""Provenance: software versions and input checksums for ``manifest.json``."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .genome import sha256sum

_PACKAGES = ("tfbinding", "numpy", "pysam", "pyfaidx", "pybedtools", "snakemake", "jsonschema")


def software_versions() -> dict[str, str]:
    """Versions of Python, the Python packages used, and the bedtools binary."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        result = subprocess.run(["bedtools", "--version"], capture_output=True, text=True, check=True)
        versions["bedtools"] = result.stdout.strip().removeprefix("bedtools ")
    except (OSError, subprocess.CalledProcessError):
        versions["bedtools"] = "not found"
    return versions


def describe_input(path: str | os.PathLike | None) -> dict | None:
    """Path, size and sha256 of an input file (None stays None)."""
    if not path:
        return None
    path = Path(path)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256sum(path)}
