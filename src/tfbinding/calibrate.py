"""Choose the site-calling threshold on the validation split (the ``calibrate`` step)."""
from __future__ import annotations

import os

import numpy as np

from .atomic import save_json
from .inference import load_model, predict_probabilities, require_sequence_only
from .loader import load_dataset
from .metrics import threshold_at_fdr
from .options import uses_reverse_complement


def calibrate_threshold(model_dir: str | os.PathLike, model_name: str, dataset_dir: str | os.PathLike,
                        out: str | os.PathLike, fdr: float = 0.1) -> dict:
    """Choose the site-calling threshold on the validation split: the lowest score whose
    windows at or above it have an FDR of at most ``fdr`` there. Writes ``out`` (JSON)."""
    data = load_dataset(dataset_dir)
    labels = np.asarray(data.valid["y"]).reshape(-1)
    model = load_model(model_dir)
    require_sequence_only(model, "threshold calibration")
    scores = predict_probabilities(model, data.valid["X"], uses_reverse_complement(model_name))
    threshold = threshold_at_fdr(labels, scores, fdr)
    called = scores >= threshold
    achieved = float(np.mean(labels[called] == 0)) if called.any() else 0.0
    result = {"model": model_name, "target_fdr": fdr, "threshold": threshold, "validation_fdr": achieved,
              "validation_windows_called": int(called.sum()),
              "validation_recall": float(labels[called].sum() / max(labels.sum(), 1))}
    save_json(out, result, reasons={"/threshold": f"no threshold reaches FDR {fdr} on the validation "
                                                 "split, so no site is called"})
    return result
