"""Evaluation on the test split: metrics, table, plots, scores."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.evaluate import evaluate_models  # noqa: E402
from tfbinding.train import train_model  # noqa: E402
from test_train import TINY  # noqa: E402


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
