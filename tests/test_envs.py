"""The per-rule conda environments against pyproject.toml (conda itself is not run here)."""
from __future__ import annotations

import re

import pytest
import tomllib
import yaml

from conftest import REPO

# conda names of the PyPI packages where they differ
CONDA_NAMES = {"snakemake": "snakemake-minimal", "matplotlib": "matplotlib-base", "tensorflow-cpu": "tensorflow"}
# the model rules' libraries, which the dataset rules do without
MODEL_ONLY = {"tensorflow", "keras", "modisco-lite", "memelite", "logomaker", "pyjaspar", "scikit-learn"}


def _requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*(#.*)?(;.*)?", text)
    assert match, f"not a 'name>=version' requirement: {text!r}"
    return CONDA_NAMES.get(match.group(1).lower(), match.group(1).lower()), match.group(2)


def _env(name: str) -> dict[str, str]:
    env = yaml.safe_load((REPO / "envs" / f"{name}.yaml").read_text())
    listed = [dep for dep in env["dependencies"] if isinstance(dep, str) and ">=" in dep]
    for extra in (dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict)):
        assert not any(item.startswith((".", "/", "-e")) for item in extra)  # the package comes from src/
        listed += extra
    return dict(_requirement(dep) for dep in listed)


@pytest.mark.parametrize("name", ["dataset", "models"])
def test_each_env_lists_pyprojects_packages_and_floors(name):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(dep) for dep in project["dependencies"])
    listed = _env(name)
    for package, version in wanted.items():
        if name == "dataset" and package in MODEL_ONLY:
            assert package not in listed, f"envs/dataset.yaml must stay free of {package}"
            continue
        assert listed.get(package) == version, f"envs/{name}.yaml: {package} >={listed.get(package)}, pyproject >={version}"
    assert "bedtools" in listed  # the binary behind pybedtools


def test_rules_use_the_tensorflow_free_env_for_the_dataset():
    rules = {path.stem: path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk")}
    assert "MODELS_ENV" not in rules["dataset"] + rules["genome"]
    assert rules["models"].count("MODELS_ENV") >= 2
