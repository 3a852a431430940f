"""Tests for tfbinding.atomic: write beside the destination, rename into place."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tfbinding.atomic import atomic_path, save_json, save_npy, save_npz


class Boom(RuntimeError):
    pass


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_success_moves_the_file_into_place(tmp_path):
    dest = tmp_path / "sub" / "out.txt"
    with atomic_path(dest) as tmp:
        assert tmp != dest
        assert tmp.parent == dest.parent  # same folder, so the rename is atomic
        assert not dest.exists()
        tmp.write_text("done")
    assert dest.read_text() == "done"
    assert listing(dest.parent) == ["out.txt"]


def test_failure_leaves_neither_destination_nor_partial_file(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(Boom):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise Boom
    assert not dest.exists()
    assert listing(tmp_path) == []


def test_failure_keeps_an_existing_destination_unchanged(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(Boom):
        with atomic_path(dest) as tmp:
            tmp.write_text("new but incomplete")
            raise Boom
    assert dest.read_text() == "old"
    assert listing(tmp_path) == ["out.txt"]


def test_keyboard_interrupt_also_cleans_up(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(dest) as tmp:
            tmp.mkdir()
            (tmp / "X.npy").write_bytes(b"partial")
            raise KeyboardInterrupt
    assert listing(tmp_path) == []


def test_failed_directory_output_is_removed(tmp_path):
    dest = tmp_path / "dataset"
    with pytest.raises(Boom):
        with atomic_path(dest) as tmp:
            (tmp / "train").mkdir(parents=True)
            (tmp / "train" / "X.npy").write_bytes(b"x")
            raise Boom
    assert listing(tmp_path) == []


def test_directory_destination_is_swapped_in(tmp_path):
    dest = tmp_path / "dataset"
    (dest / "old_split").mkdir(parents=True)
    (dest / "old_split" / "X.npy").write_bytes(b"old")
    (dest / "manifest.json").write_text("old")
    with atomic_path(dest) as tmp:
        tmp.mkdir()
        (tmp / "manifest.json").write_text("new")
        assert (dest / "manifest.json").read_text() == "old"  # untouched until the end
    assert listing(dest) == ["manifest.json"]
    assert (dest / "manifest.json").read_text() == "new"
    assert listing(tmp_path) == ["dataset"]  # the old folder is gone, no .old-* left


def test_file_replaces_an_existing_file(tmp_path):
    dest = tmp_path / "a.txt"
    dest.write_text("old")
    with atomic_path(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new"
    assert listing(tmp_path) == ["a.txt"]


def test_stale_partial_from_an_earlier_run_is_removed_first(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(Boom):
        with atomic_path(dest) as tmp:
            stale = tmp
            raise Boom
    # simulate a crash that left this process's partial folder behind
    stale.mkdir()
    (stale / "junk").write_text("junk")
    with atomic_path(dest) as tmp:
        assert tmp == stale
        assert not tmp.exists()
        tmp.mkdir()
        (tmp / "fresh").write_text("ok")
    assert listing(dest) == ["fresh"]


def test_symlink_result_is_moved_into_place(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("t")
    dest = tmp_path / "link.txt"
    with atomic_path(dest) as tmp:
        os.symlink(target, tmp)
    assert dest.is_symlink() and dest.read_text() == "t"


def test_save_npy_npz_json_round_trip(tmp_path):
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    save_npy(tmp_path / "a.npy", a)
    assert np.array_equal(np.load(tmp_path / "a.npy"), a)
    save_npz(tmp_path / "b.npz", starts=a[0], labels=np.array([1, 0], dtype=np.uint8))
    with np.load(tmp_path / "b.npz") as archive:
        assert archive["starts"].tolist() == [0, 1, 2, 3]
        assert archive["labels"].dtype == np.uint8
    save_json(tmp_path / "c.json", {"b": 1, "a": [1, 2]})
    text = (tmp_path / "c.json").read_text()
    assert json.loads(text) == {"a": [1, 2], "b": 1}
    assert text.index('"a"') < text.index('"b"')  # keys sorted
    assert listing(tmp_path) == ["a.npy", "b.npz", "c.json"]


def test_save_npy_refuses_object_arrays_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        save_npy(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- leftovers (issue 11)

def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    import subprocess
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_partials_of_dead_processes_are_removed_on_the_next_write(tmp_path):
    import subprocess

    dead = tmp_path / f".dataset.partial-{dead_pid()}"
    (dead / "train").mkdir(parents=True)
    (dead / "train" / "X.npy").write_bytes(b"\0" * 1000)
    old = tmp_path / f".dataset.old-{dead_pid()}"
    old.mkdir()
    alive = subprocess.Popen(["sleep", "30"])
    try:
        live = tmp_path / f".dataset.partial-{alive.pid}"
        live.mkdir()
        other = tmp_path / f".labels.npz.partial-{dead_pid()}"
        other.write_text("another output's leftover")
        with atomic_path(tmp_path / "dataset") as tmp:
            tmp.mkdir()
        assert listing(tmp_path) == sorted([f".dataset.partial-{alive.pid}", other.name, "dataset"])
    finally:
        alive.kill()
        alive.wait()


def test_a_failed_write_names_the_output(tmp_path):
    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "out.npy") as tmp, open(tmp, "wb"):
            raise OSError(28, "No space left on device")
    assert info.value.filename == str(tmp_path / "out.npy")
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- strict JSON (issue 11)

def strict_loads(text):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_save_json_writes_null_with_a_reason_for_nan_and_infinity(tmp_path):
    payload = {"threshold": float("inf"), "models": {"full": {"roc_auc": {"value": np.float64("nan")}}},
               "low": -np.inf, "curve": np.array([0.5, np.nan]), "n": np.int64(3), "ok": 0.25}
    save_json(tmp_path / "m.json", payload, reasons={"/threshold": "no threshold reaches FDR 0.1"})
    data = strict_loads((tmp_path / "m.json").read_text())
    assert data["threshold"] is None and data["low"] is None and data["curve"] == [0.5, None]
    assert data["models"]["full"]["roc_auc"]["value"] is None
    assert data["n"] == 3 and data["ok"] == 0.25
    reasons = data["null_reasons"]
    assert reasons["/threshold"] == "no threshold reaches FDR 0.1"
    assert "NaN" in reasons["/models/full/roc_auc/value"] and "NaN" in reasons["/curve/1"]
    assert "Infinity" in reasons["/low"]
    assert payload["threshold"] == float("inf")  # the caller's dict is left alone


def test_save_json_of_finite_values_has_no_reasons(tmp_path):
    save_json(tmp_path / "m.json", {"a": 1.5})
    assert strict_loads((tmp_path / "m.json").read_text()) == {"a": 1.5}


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_metrics_of_a_split_without_positives_are_strict_json(tmp_path):
    from tfbinding.models.metrics import evaluate_scores, threshold_at_fdr
    metrics = evaluate_scores(np.zeros(20), np.linspace(0, 1, 20), bootstrap=10)
    save_json(tmp_path / "metrics.json", {"models": {"full": metrics},
                                          "threshold": threshold_at_fdr(np.zeros(20), np.ones(20), 0.1)})
    data = strict_loads((tmp_path / "metrics.json").read_text())
    assert data["models"]["full"]["roc_auc"]["value"] is None
    assert data["threshold"] is None and "/threshold" in data["null_reasons"]
