"""Training on a tiny hand-made dataset (real TensorFlow)."""
from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("tensorflow")

from helpers import TINY  # noqa: E402
from tfbinding.config import TRAINED_MODELS, TrainingConfig  # noqa: E402
from tfbinding.models.evaluate import evaluate_models  # noqa: E402
from tfbinding.models.train import train_model  # noqa: E402


@pytest.mark.parametrize("model_name", TRAINED_MODELS)
def test_each_model_trains_an_epoch(tiny_dataset, tmp_path, model_name):
    summary = train_model(tiny_dataset, model_name, tmp_path / model_name, TINY, threads=1)
    assert summary["epochs_run"] == 1
    for name in ("model.keras", "history.csv", "curves.png"):
        assert (tmp_path / model_name / name).stat().st_size > 0
    with open(tmp_path / model_name / "history.csv") as handle:
        row = next(csv.DictReader(handle))
    assert {"loss", "roc_auc", "pr_auc", "val_roc_auc", "val_pr_auc", "train_roc_auc", "train_pr_auc"} <= set(row)


def test_train_figures_are_the_saved_model_scored_on_train_in_inference_mode(tiny_dataset, tmp_path):
    from tfbinding.data.loader import load_dataset
    from tfbinding.models.inference import load_model, predict_probabilities
    from tfbinding.models.metrics import average_precision, roc_auc

    train_model(tiny_dataset, "full", tmp_path / "full", TINY, threads=1)
    with open(tmp_path / "full" / "history.csv") as handle:
        row = next(csv.DictReader(handle))
    train = load_dataset(tiny_dataset).train
    scores = predict_probabilities(load_model(tmp_path / "full"), train["X"])
    assert float(row["train_roc_auc"]) == pytest.approx(roc_auc(train["y"], scores), abs=1e-6)
    assert float(row["train_pr_auc"]) == pytest.approx(average_precision(train["y"], scores), abs=1e-6)


def test_masked_task_metrics_leave_out_masked_windows_per_task():
    import numpy as np

    from tfbinding.models.train import _masked_task_metrics

    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    weights = np.array([[1, 1], [1, 1], [1, 0], [1, 0]])  # task 1's last two labels are masked
    scores = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.9], [0.2, 0.1]])
    roc, pr = _masked_task_metrics(labels, weights, scores)
    assert roc == pytest.approx(1.0) and pr == pytest.approx(1.0)
    weights[:, 1] = 1  # unmasked, task 1's positives (0.9, 0.1) and negatives (0.1, 0.9) tie on average
    assert _masked_task_metrics(labels, weights, scores)[0] == pytest.approx((1.0 + 0.5) / 2)


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


def test_motif_informed_improved_keeps_the_scan_unless_training_beats_it(tiny_dataset, tmp_path):
    from conftest import REPO
    from tfbinding.models.inference import load_model

    summary = train_model(tiny_dataset, "improved", tmp_path / "improved", TINY, threads=1,
                          motif=REPO / "resources/motifs/MA0491.3.jaspar")
    start = summary["before_training"]
    assert summary["val_pr_auc"] >= start["val_pr_auc"]  # never worse than the scan on valid
    assert summary["best_epoch"] in (0, 1) and summary["motif"].endswith("MA0491.3.jaspar")
    assert load_model(tmp_path / "improved").get_layer("motif_scan") is not None
    assert [row["epoch"] for row in summary["challenges"]] == [1]
    assert (summary["best_epoch"] == 1) == summary["challenges"][0]["kept"]
    # the tiny validation split holds fewer than 50 positives: no epoch may replace the scan
    assert summary["best_epoch"] == 0 and "validation positives" in summary["challenges"][0]["reason"]
    saved = json.loads((tmp_path / "improved" / "training.json").read_text())
    assert saved["before_training"] == start and saved["collapsed"] is None


def test_the_seed_studys_sgd_recipe_still_trains(tiny_dataset, tmp_path):
    config = TrainingConfig(optimizer="sgd", learning_rate=0.03, epochs=2, batch_size=64,
                            early_stopping_start=0)
    summary = train_model(tiny_dataset, "full", tmp_path / "sgd", config, threads=1)
    assert summary["training"]["optimizer"] == "sgd" and summary["epochs_run"] == 2


def test_an_epoch_replaces_the_scan_only_when_it_wins_most_paired_resamples():
    import numpy as np

    from tfbinding.models.train import beats_reference

    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.1).astype(float)
    reference = rng.random(400)
    assert beats_reference(labels, labels + 0.1 * rng.random(400), reference) == 1.0  # far better
    assert beats_reference(labels, reference, reference) == 0.0                      # a tie never wins
    noisy = reference + 1e-3 * rng.random(400)
    assert 0.0 < beats_reference(labels, noisy, reference) < 0.9                      # luck, not skill


def test_study_models_train_on_balanced_batches_by_default(tiny_dataset, tmp_path):
    assert TrainingConfig().imbalance == "balanced_batches" and TrainingConfig().improved_imbalance == "weights"
    summary = train_model(tiny_dataset, "full", tmp_path / "full", TINY, threads=1)
    assert summary["imbalance"] == "balanced_batches" and summary["status"] in ("ok", "not learned")
    saved = json.loads((tmp_path / "full" / "training.json").read_text())
    assert saved["status"] == summary["status"] and saved["training"]["positive_share"] == 0.25


@pytest.mark.parametrize("strategy", ["weights", "downsample", "focal"])
def test_every_imbalance_strategy_trains(tiny_dataset, tmp_path, strategy):
    from dataclasses import replace

    summary = train_model(tiny_dataset, "no_weights", tmp_path / strategy, replace(TINY, imbalance=strategy),
                          threads=1)
    assert summary["imbalance"] == strategy and summary["epochs_run"] == 1


def test_a_model_that_learned_nothing_is_reported_so_and_gets_no_metric(tiny_dataset, tmp_path):
    from dataclasses import replace

    # a learning rate of ~0 leaves the output at the prior: the train loss stays at the prior's
    frozen = replace(TINY, learning_rate=1e-12)
    summary = train_model(tiny_dataset, "full", tmp_path / "full", frozen, threads=1)
    assert summary["status"] == "not learned" and summary["reason"]
    result = evaluate_models(tiny_dataset, {"full": tmp_path / "full"}, tmp_path / "evaluation", bootstrap=10)
    assert result["models"]["full"] == {"status": "not learned", "reason": summary["reason"]}
    table = (tmp_path / "evaluation" / "metrics.md").read_text()
    assert "| full | not learned |" in table and "Not learned models" in table
    assert "| full (not learned) |" in (tmp_path / "evaluation" / "ablation.md").read_text()


def test_training_reads_x_through_the_memory_map_a_few_batches_at_a_time(tiny_dataset, tmp_path, monkeypatch):
    import numpy as np

    from tfbinding.models import batches

    reads = []
    inner = batches.SplitBatches._read_x

    def read_x(self, rows):
        reads.append((isinstance(self.X, np.memmap), len(rows)))
        return inner(self, rows)

    monkeypatch.setattr(batches.SplitBatches, "_read_x", read_x)
    for model_name in ("full", "improved"):  # balanced batches, and weights with augmentation
        reads.clear()
        train_model(tiny_dataset, model_name, tmp_path / model_name, TINY, threads=1)
        assert reads and all(mapped for mapped, _ in reads)  # never a materialised X
        assert max(rows for _, rows in reads) <= batches.CHUNK_BATCHES * 64  # a chunk of batches
