"""Choose the site-calling threshold on the validation split (the ``calibrate`` step)."""
from __future__ import annotations

import os

import numpy as np

from tfbinding.atomic import save_json
from tfbinding.config import uses_reverse_complement
from tfbinding.data.loader import load_dataset
from tfbinding.errors import InputError
from tfbinding.genomewide.tracks import read_thresholds  # noqa: F401  (re-exported)
from tfbinding.models.inference import load_model, predict_probabilities, signal_channels, task_names
from tfbinding.models.metrics import threshold_at_fdr


def fdr_threshold(labels: np.ndarray, scores: np.ndarray, fdr: float) -> dict:
    """The lowest score whose windows at or above it have an FDR of at most ``fdr``, with
    the FDR, calls and recall it reaches on these windows.
    """
    threshold = threshold_at_fdr(labels, scores, fdr)
    called = scores >= threshold
    achieved = float(np.mean(labels[called] == 0)) if called.any() else 0.0
    return {"threshold": threshold, "validation_fdr": achieved,
            "validation_windows_called": int(called.sum()),
            "validation_recall": float(labels[called].sum() / max(labels.sum(), 1))}


def calibrate_threshold(model_dir: str | os.PathLike, model_name: str, dataset_dir: str | os.PathLike,
                        out: str | os.PathLike, fdr: float = 0.1) -> dict:
    """Choose the site-calling threshold on the validation split: the lowest score whose
    windows at or above it have an FDR of at most ``fdr`` there. Writes ``out`` (JSON).

    A multi-task model gets one threshold per task, each on the validation windows whose
    label is not masked for it (``w > 0``): ``out`` then holds ``tasks[task]`` with the
    single-task fields. A signal model is scored with the split's ``S.npy``.
    """
    data = load_dataset(dataset_dir)
    model = load_model(model_dir)
    signals = data.valid.get("S")
    if signal_channels(model) != (0 if signals is None else signals.shape[-1]):
        raise InputError(f"{model_dir}: the model reads {signal_channels(model)} signal channel(s), the "
                         f"dataset {dataset_dir} has {0 if signals is None else signals.shape[-1]}. "
                         "Calibrate the model on the dataset it was trained on")
    scores = predict_probabilities(model, data.valid["X"], uses_reverse_complement(model_name),
                                   signals=signals)
    if scores.ndim == 1:
        result = {"model": model_name, "target_fdr": fdr,
                  **fdr_threshold(np.asarray(data.valid["y"]).reshape(-1), scores, fdr)}
        reasons = {"/threshold": f"no threshold reaches FDR {fdr} on the validation split, so no "
                                 "site is called"}
    else:
        names = task_names(model, model_dir, data.tasks)
        labels, weights = np.asarray(data.valid["y"]), np.asarray(data.valid["w"])
        result = {"model": model_name, "target_fdr": fdr, "tasks": {}}
        reasons = {}
        for index, task in enumerate(names):
            kept = weights[:, index] > 0
            result["tasks"][task] = {"validation_windows": int(kept.sum()),
                                     **fdr_threshold(labels[kept, index], scores[kept, index], fdr)}
            reasons[f"/tasks/{task}/threshold"] = (f"no threshold reaches FDR {fdr} on the validation "
                                                   f"windows of task {task}, so no site is called for it")
    save_json(out, result, reasons=reasons)
    return result
