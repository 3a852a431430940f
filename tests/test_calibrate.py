"""Choosing the site threshold on the validation split."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.data.loader import load_dataset  # noqa: E402
from tfbinding.genomewide.calibrate import calibrate_threshold  # noqa: E402
from tfbinding.models.inference import load_model, predict_probabilities  # noqa: E402


def test_threshold_chosen_on_validation_meets_the_fdr_there(trained):
    root, _ = trained
    result = calibrate_threshold(root / "full", "full", root / "dataset", root / "threshold.json", fdr=0.1)
    assert json.loads((root / "threshold.json").read_text()) == result
    assert result["validation_fdr"] <= 0.1
    data = load_dataset(root / "dataset")
    scores = predict_probabilities(load_model(root / "full"), data.valid["X"])
    called = scores >= result["threshold"]
    labels = np.asarray(data.valid["y"]).ravel()
    assert called.sum() == result["validation_windows_called"]
    assert (labels[called] == 0).mean() <= 0.1 if called.any() else True


def test_an_unreachable_fdr_is_null_with_a_reason_and_predict_then_calls_no_site(trained, tmp_path):
    """No threshold reaches the FDR (a validation split without positives): threshold.json
    holds null, not Infinity (strict JSON), and the predict step calls no site."""
    import shutil

    from conftest import PREDICT_LENGTH
    from tfbinding.cli import main

    root, genome = trained
    dataset = tmp_path / "dataset"
    shutil.copytree(root / "dataset", dataset)
    np.save(dataset / "valid" / "y.npy", np.zeros_like(np.load(dataset / "valid" / "y.npy")))
    calibrate_threshold(root / "full", "full", dataset, tmp_path / "threshold.json", fdr=0.1)
    text = (tmp_path / "threshold.json").read_text()
    result = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in threshold.json"))
    assert result["threshold"] is None
    assert "no threshold reaches FDR 0.1" in result["null_reasons"]["/threshold"]
    assert main(["predict", "--model", "full", "--model-dir", str(root / "full"), "--threshold",
                 str(tmp_path / "threshold.json"), "--fasta", str(genome), "--chrom", "chrB",
                 "--out-dir", str(tmp_path / "pred"), "--length", str(PREDICT_LENGTH),
                 "--stride", str(PREDICT_LENGTH)]) == 0
    assert (tmp_path / "pred" / "chrB.sites.narrowPeak").read_text().count("\n") <= 1
