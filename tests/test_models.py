"""Models, batches and training on tiny hand-made data (real TensorFlow)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.batches import SplitBatches, reverse_complement  # noqa: E402
from tfbinding.dataset import load_dataset  # noqa: E402
from tfbinding.evaluate import evaluate_models  # noqa: E402
from tfbinding.models import TRAINED_MODELS, TrainingConfig, build_model  # noqa: E402
from tfbinding.onehot import one_hot  # noqa: E402
from tfbinding.train import train_model  # noqa: E402
from tfbinding.weights import balanced_weights  # noqa: E402

LENGTH = 30
TINY = TrainingConfig(epochs=1, batch_size=64, improved_batch_size=64, improved_epochs=1,
                      early_stopping_start=0)


def _split(rng, n, positive_fraction=0.2):
    labels = (rng.random(n) < positive_fraction).astype(np.float32)
    seqs = ["".join(rng.choice(list("ACGT"), LENGTH)) for _ in range(n)]
    seqs = [s[:10] + "TGACTCA" + s[17:] if y else s for s, y in zip(seqs, labels)]
    X = np.stack([one_hot(s) for s in seqs])
    return {"X": X, "y": labels.reshape(-1, 1), "w": balanced_weights(labels).reshape(-1, 1),
            "ids": np.array([f"chrT:{i * LENGTH}-{(i + 1) * LENGTH}" for i in range(n)])}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny") / "dataset"
    rng = np.random.default_rng(0)
    for name, n in (("train", 400), ("valid", 120), ("test", 120)):
        (folder / name).mkdir(parents=True)
        for key, array in _split(rng, n).items():
            np.save(folder / name / f"{key}.npy", array)
    (folder / "manifest.json").write_text(json.dumps({"format": "tfbinding-dataset/1"}))
    return folder


def test_augmentation_is_seeded_by_epoch_and_batch_not_call_order(tiny_dataset):
    data = load_dataset(tiny_dataset)
    one = SplitBatches(data.train, batch_size=64, shuffle=True, reverse_complement_half=True, seed=3)
    two = SplitBatches(data.train, batch_size=64, shuffle=True, reverse_complement_half=True, seed=3)
    later_first = [two[i][0] for i in (2, 1, 0)][::-1]
    for index, x in enumerate(later_first):
        np.testing.assert_array_equal(one[index][0], x)
    plain = SplitBatches(data.train, batch_size=64, shuffle=True, seed=3)
    assert any((one[i][0] != plain[i][0]).any() for i in range(3))  # some windows were flipped


def test_reverse_complement_of_one_hot():
    X = one_hot("AACGTN")[None]
    assert (reverse_complement(X)[0] == one_hot("NACGTT")).all()


def test_batches_cast_per_batch_and_keep_x_memory_mapped(tiny_dataset):
    data = load_dataset(tiny_dataset)
    assert isinstance(data.train["X"], np.memmap) and data.train["X"].dtype == np.uint8
    batches = SplitBatches(data.train, batch_size=64, weighted=True, shuffle=True, seed=1)
    x, y, w = batches[0]
    assert x.dtype == np.uint8 and x.shape == (64, LENGTH, 4) and w.shape == (64,)  # cast in the graph
    assert not np.shares_memory(x, data.train["X"])
    assert len(batches) == 7
    seen = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert seen.sum() == data.train["y"].sum()  # every window once per epoch
    assert len(SplitBatches(data.valid, batch_size=64, weighted=False)[0]) == 2


@pytest.mark.parametrize("variant", TRAINED_MODELS)
def test_each_model_builds_and_trains_an_epoch(tiny_dataset, tmp_path, variant):
    model = build_model(variant, LENGTH, TINY)
    assert model.output_shape == (None, 1)
    has_dropout = any("dropout" in layer.name for layer in model.layers)
    assert has_dropout == (variant != "no_dropout")
    summary = train_model(tiny_dataset, variant, tmp_path / variant, TINY, threads=1)
    assert summary["epochs_run"] == 1
    for name in ("model.keras", "history.csv", "curves.png"):
        assert (tmp_path / variant / name).stat().st_size > 0
    with open(tmp_path / variant / "history.csv") as handle:
        row = next(csv.DictReader(handle))
    assert {"loss", "roc_auc", "pr_auc", "val_roc_auc", "val_pr_auc"} <= set(row)


def test_same_seed_gives_identical_history_and_metrics(tiny_dataset, tmp_path):
    config = TrainingConfig(epochs=3, batch_size=64, early_stopping_start=0, seed=5)
    for run in ("a", "b"):
        train_model(tiny_dataset, "full", tmp_path / run / "full", config, threads=1)
        evaluate_models(tiny_dataset, {"full": tmp_path / run / "full"}, tmp_path / run / "evaluation",
                        bootstrap=50)
    assert (tmp_path / "a/full/history.csv").read_text() == (tmp_path / "b/full/history.csv").read_text()
    first = json.loads((tmp_path / "a/evaluation/metrics.json").read_text())
    assert first == json.loads((tmp_path / "b/evaluation/metrics.json").read_text())
    assert first["models"]["full"]["roc_auc"]["value"] > 0.5


def test_evaluation_writes_table_plots_and_scores(tiny_dataset, tmp_path):
    from conftest import REPO

    train_model(tiny_dataset, "improved", tmp_path / "improved", TINY, threads=1)
    result = evaluate_models(tiny_dataset, {"improved": tmp_path / "improved"}, tmp_path / "ev",
                             motif=REPO / "resources/motifs/MA0491.3.jaspar", bootstrap=20)
    assert set(result["models"]) == {"improved", "motif_baseline"}
    assert result["windows"] == 120
    table = (tmp_path / "ev/metrics.md").read_text()
    assert "| improved |" in table and "| motif_baseline |" in table
    for plot in ("roc.png", "pr.png"):
        assert (tmp_path / "ev" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "ev/test_scores.npz") as scores:
        assert scores["improved"].shape == (120,)
    # the planted TGACTCA makes the motif baseline near-perfect on this toy data
    assert result["models"]["motif_baseline"]["roc_auc"]["value"] > 0.95
