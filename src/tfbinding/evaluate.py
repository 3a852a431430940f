"""Evaluate trained models and the motif baseline on the test split: metrics with
bootstrap intervals, ROC and PR plots, a Markdown table."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .ablation import ablation_report, ablation_table
from .atomic import atomic_path, save_json, save_npz
from .inference import load_model, predict_probabilities
from .loader import load_dataset
from .metrics import METRICS, collapse_reason, evaluate_scores
from .motif import best_match_scores, log_odds, read_jaspar
from .options import MOTIF_BASELINE, uses_reverse_complement
from .plotting import plot_curves

log = logging.getLogger(__name__)

_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "recall_at_10_fdr": "recall @ 10% FDR",
           "recall_at_50_fdr": "recall @ 50% FDR"}


def score_test_split(dataset_dir: str | os.PathLike, model_dirs: dict[str, str | os.PathLike],
                     motif: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(ids, labels, {model: scores}) on the test split."""
    data = load_dataset(dataset_dir)
    X = data.test["X"]
    scores = {}
    for model_name, folder in model_dirs.items():
        scores[model_name] = predict_probabilities(load_model(folder), X, uses_reverse_complement(model_name))
    if motif:
        scores[MOTIF_BASELINE] = best_match_scores(X, log_odds(read_jaspar(motif)[1]))
    return np.asarray(data.test["ids"]), np.asarray(data.test["y"]).reshape(-1), scores


def evaluate_models(dataset_dir: str | os.PathLike, model_dirs: dict[str, str | os.PathLike],
                    out_dir: str | os.PathLike, motif: str | os.PathLike | None = None,
                    bootstrap: int = 1000, seed: int = 0) -> dict:
    """Write ``metrics.json``, ``metrics.md``, ``roc.png``, ``pr.png`` and
    ``test_scores.npz`` into ``out_dir``; return the metrics."""
    ids, labels, scores = score_test_split(dataset_dir, model_dirs, motif)
    result = {
        "split": "test",
        "windows": int(labels.size), "positives": int(labels.sum()),
        "negatives": int(labels.size - labels.sum()),
        "bootstrap": {"resamples": bootstrap, "seed": seed, "interval": "95% percentile"},
        "motif": {"file": str(motif), "matrix": read_jaspar(motif)[0]} if motif else None,
        "models": {},
    }
    ablation = ablation_report(model_dirs)
    for name, values in scores.items():
        train_auc = ablation["models"][name]["best_train_roc_auc"] if name in model_dirs else None
        reason = collapse_reason(values, train_auc)
        if reason:
            log.warning("%s: COLLAPSED (%s): no metrics reported", name, reason)
            result["models"][name] = {"status": "collapsed", "reason": reason}
        else:
            result["models"][name] = {"status": "ok", **evaluate_scores(labels, values, bootstrap, seed)}
    out = Path(out_dir)
    save_json(out / "metrics.json", result)
    with atomic_path(out / "metrics.md") as tmp:
        tmp.write_text(metrics_table(result))
    save_npz(out / "test_scores.npz", ids=ids, labels=labels, **scores)
    plot_curves(labels, scores, out)
    save_json(out / "ablation.json", ablation)
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(ablation_table(ablation))
    for name, values in result["models"].items():
        if values["status"] == "ok":
            log.info("%s: test ROC AUC %.4f, PR AUC %.4f", name, values["roc_auc"]["value"],
                     values["pr_auc"]["value"])
    return result


def metrics_table(result: dict) -> str:
    """A Markdown table of every model's test metrics with their 95% intervals."""
    header = "| model | " + " | ".join(_LABELS[m] for m in METRICS) + " |"
    lines = [f"Test split: {result['windows']:,} windows, {result['positives']:,} positive, "
             f"{result['negatives']:,} negative. Brackets: bootstrap 95% interval "
             f"({result['bootstrap']['resamples']} resamples).", "", header,
             "|---|" + "---|" * len(METRICS)]
    for name, values in result["models"].items():
        if values["status"] == "collapsed":
            lines.append(f"| {name} | " + " | ".join(["collapsed"] * len(METRICS)) + " |")
            continue
        cells = [f"{values[m]['value']:.3f} [{values[m]['ci95_low']:.3f}, {values[m]['ci95_high']:.3f}]"
                 for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    collapsed = [f"{name}: {values['reason']}" for name, values in result["models"].items()
                 if values["status"] == "collapsed"]
    if collapsed:
        lines += ["", "Collapsed models (their scores carry no ranking, so no metric is given): "
                  + "; ".join(collapsed) + "."]
    return "\n".join(lines) + "\n"
