"""Choosing the site threshold on the validation split."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.calibrate import calibrate_threshold  # noqa: E402
from tfbinding.inference import load_model, predict_probabilities  # noqa: E402
from tfbinding.loader import load_dataset  # noqa: E402


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
