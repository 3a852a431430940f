"""Tests for tfbinding.layout (the one file-layout contract) and for the module graph:
no step module imports another step's module."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from tfbinding import layout

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "tfbinding"


def test_dataset_paths_follow_the_contract(tmp_path):
    assert layout.array_path(tmp_path, "valid", "y") == tmp_path / "valid" / "y.npy"
    files = layout.dataset_files("d")
    assert files[0] == "d/manifest.json"
    assert files[1:] == [f"d/{s}/{k}.npy" for s in ("train", "valid", "test") for k in ("X", "y", "w", "ids")]
    assert layout.dataset_files("d", splits=("test",), keys=(layout.SIGNALS,), manifest=False) == ["d/test/S.npy"]


def test_prefix_helpers_invert_the_path_helpers():
    prefix = "results/x/chromosomes/chr1/X"
    assert layout.onehot_prefix(str(layout.onehot_path(prefix, layout.SPLITS[0]))) == prefix
    assert layout.signal_prefix(str(layout.signal_counts_path(prefix))) == prefix
    assert str(layout.signal_path(prefix, "test")) == f"{prefix}.S.test.npy"
    with pytest.raises(ValueError):
        layout.onehot_prefix(f"{prefix}.valid.npy")
    with pytest.raises(ValueError):
        layout.signal_prefix(f"{prefix}.json")


def test_loader_reads_what_the_layout_names(tmp_path):
    from tfbinding.data.loader import load_dataset

    (tmp_path / layout.MANIFEST).write_text("{}")
    for split in layout.SPLITS:
        (tmp_path / split).mkdir()
        arrays = {"X": np.zeros((2, 8, 4), np.uint8), "y": np.zeros((2, 1), np.float32),
                  "w": np.ones((2, 1), np.float32), "ids": np.array(["c:0-8", "c:8-16"])}
        for key in layout.ARRAYS:
            np.save(layout.array_path(tmp_path, split, key), arrays[key])
    data = load_dataset(tmp_path)
    assert set(data.train) == set(layout.ARRAYS)


def _rule_names() -> set[str]:
    names = set()
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        names |= set(re.findall(r"^rule (\w+)", path.read_text(), re.MULTILINE))
    return names


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] != "__init__":
            modules[".".join(("tfbinding", *parts))] = path
    return modules


def _imported(path: Path) -> set[str]:
    """Every module that ``path`` imports (lazy imports inside functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_step_module_imports_another_steps_module():
    rules = _rule_names()
    assert {"windows", "labels", "onehot", "train", "predict", "explain"} <= rules
    modules = _modules()
    steps = {name for name in modules if name.rsplit(".", 1)[-1] in rules}
    assert "tfbinding.data.windows" in steps and "tfbinding.genomewide.predict" in steps
    crossing = {name: sorted(_imported(modules[name]) & (steps - {name})) for name in sorted(steps)}
    assert {name: found for name, found in crossing.items() if found} == {}


def test_each_rule_with_code_has_its_module():
    """A newcomer finds each rule's code from the tree: rule = module (aggregates aside)."""
    aggregates = {"all", "interpret"}
    stems = {name.rsplit(".", 1)[-1] for name in _modules()}
    assert sorted(_rule_names() - aggregates - stems) == []
