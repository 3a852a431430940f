"""Evaluation on the test split: metrics, table, plots, scores."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from helpers import TINY  # noqa: E402
from tfbinding.models.evaluate import evaluate_models  # noqa: E402
from tfbinding.models.train import train_model  # noqa: E402


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


def test_a_collapsed_model_is_reported_as_collapsed_not_as_a_number(tiny_dataset, tmp_path):
    import json

    import keras

    inputs = keras.Input((30, 4))
    constant = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")(keras.layers.Flatten()(inputs))
    folder = tmp_path / "full"
    folder.mkdir()
    keras.Model(inputs, constant).save(folder / "model.keras")
    (folder / "history.csv").write_text("epoch,loss,pr_auc,roc_auc,val_pr_auc,val_roc_auc\n0,0.69,0.2,0.5,0.2,0.5\n")
    result = evaluate_models(tiny_dataset, {"full": folder}, tmp_path / "ev", bootstrap=5)
    assert result["models"]["full"]["status"] == "collapsed"
    assert "roc_auc" not in result["models"]["full"]
    assert json.loads((tmp_path / "ev/metrics.json").read_text())["models"]["full"]["status"] == "collapsed"
    table = (tmp_path / "ev/metrics.md").read_text()
    assert "| full | collapsed | collapsed |" in table and "constant scores" in table
