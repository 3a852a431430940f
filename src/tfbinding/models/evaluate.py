"""Evaluate trained models and the motif baseline on the test split: metrics with
bootstrap intervals, ROC and PR plots, a Markdown table.

A multi-task dataset (T > 1) is evaluated task by task on the windows whose label is not
masked for that task (``w > 0``): ``metrics.json`` then holds ``tasks[task]`` (windows,
positives, negatives) and ``models[m]["tasks"][task]`` with the single-task fields,
``metrics.md`` one table per task, ``roc.png``/``pr.png`` the first task and
``tasks/<task>/roc.png``/``pr.png`` each task. ``motif_baseline`` scores every task with
the same scan of the configured matrix.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from tfbinding.atomic import atomic_path, save_json, save_npz
from tfbinding.config import MOTIF_BASELINE, uses_reverse_complement
from tfbinding.data.loader import load_dataset
from tfbinding.models.ablation import ablation_report, ablation_table
from tfbinding.models.inference import load_model, predict_probabilities
from tfbinding.models.metrics import METRICS, collapse_reason, evaluate_scores
from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar
from tfbinding.plotting import plot_curves

log = logging.getLogger(__name__)

_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "recall_at_10_fdr": "recall @ 10% FDR",
           "recall_at_50_fdr": "recall @ 50% FDR"}


def _score_test(dataset_dir, model_dirs, motif):
    """(ids, labels, weights, tasks, {model: scores}); labels, weights and trained models'
    scores ``(n,)`` for one task, ``(n, T)`` for T; the motif scan always ``(n,)``.
    """
    data = load_dataset(dataset_dir)
    X, S = data.test["X"], data.test.get("S")
    tasks = data.tasks
    scores = {}
    for model_name, folder in model_dirs.items():
        scores[model_name] = predict_probabilities(load_model(folder), X, uses_reverse_complement(model_name),
                                                   signals=S)
    if motif:
        scores[MOTIF_BASELINE] = best_match_scores(X, log_odds(read_jaspar(motif)[1]))
    shape = (-1,) if len(tasks) == 1 else (-1, len(tasks))
    return (np.asarray(data.test["ids"]), np.asarray(data.test["y"]).reshape(shape),
            np.asarray(data.test["w"]).reshape(shape), tasks, scores)


def _score_models(labels, scores, model_dirs, ablation, bootstrap, seed, prefix="") -> dict:
    """Each model's metrics with ``"status": "ok"``; a model whose scores are constant
    (``"collapsed"``) or whose training learned nothing (``"not learned"``, judged from its
    history by :func:`tfbinding.models.metrics.not_learned_reason`) gets its status and
    the reason instead of any metric.
    """
    models = {}
    for name, values in scores.items():
        trained = ablation["models"][name] if name in model_dirs else {}
        collapsed = collapse_reason(values, trained.get("best_train_roc_auc"))
        status, reason = (("collapsed", collapsed) if collapsed else
                          ("not learned", trained["not_learned"]) if trained.get("not_learned") else ("ok", None))
        if reason:
            log.warning("%s%s: %s (%s): no metrics reported", prefix, name, status.upper(), reason)
            models[name] = {"status": status, "reason": reason}
        else:
            models[name] = {"status": "ok", **evaluate_scores(labels, values, bootstrap, seed)}
    return models


def _counts(labels) -> dict:
    return {"windows": int(labels.size), "positives": int(labels.sum()),
            "negatives": int(labels.size - labels.sum())}


def evaluate_models(dataset_dir: str | os.PathLike, model_dirs: dict[str, str | os.PathLike],
                    out_dir: str | os.PathLike, motif: str | os.PathLike | None = None,
                    bootstrap: int = 1000, seed: int = 0) -> dict:
    """Write ``metrics.json``, ``metrics.md``, ``roc.png``, ``pr.png`` and
    ``test_scores.npz`` into ``out_dir``; return the metrics.
    """
    ids, labels, weights, tasks, scores = _score_test(dataset_dir, model_dirs, motif)
    if len(tasks) > 1:
        return _evaluate_tasks(ids, labels, weights, tasks, scores, model_dirs, Path(out_dir), motif,
                               bootstrap, seed)
    result = {
        "split": "test",
        "windows": int(labels.size), "positives": int(labels.sum()),
        "negatives": int(labels.size - labels.sum()),
        "bootstrap": {"resamples": bootstrap, "seed": seed, "interval": "95% percentile"},
        "motif": {"file": str(motif), "matrix": read_jaspar(motif)[0]} if motif else None,
        "models": {},
    }
    ablation = ablation_report(model_dirs)
    result["models"] = _score_models(labels, scores, model_dirs, ablation, bootstrap, seed)
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


def _evaluate_tasks(ids, labels, weights, tasks, scores, model_dirs, out: Path, motif, bootstrap, seed) -> dict:
    """:func:`evaluate_models` for T > 1 tasks: every task on its unmasked windows."""
    ablation = ablation_report(model_dirs, tasks)
    result = {"split": "test", "windows": int(len(labels)), "tasks": {},
              "bootstrap": {"resamples": bootstrap, "seed": seed, "interval": "95% percentile"},
              "motif": ({"file": str(motif), "matrix": read_jaspar(motif)[0], "scored": "every task, same scan"}
                        if motif else None),
              "models": {name: {"tasks": {}} for name in scores}}
    for index, task in enumerate(tasks):
        keep = weights[:, index] > 0
        task_labels = labels[keep, index]
        task_scores = {name: (values[keep, index] if values.ndim == 2 else values[keep])
                       for name, values in scores.items()}
        result["tasks"][task] = _counts(task_labels)
        for name, values in _score_models(task_labels, task_scores, model_dirs, ablation, bootstrap, seed,
                                          f"{task}: ").items():
            result["models"][name]["tasks"][task] = values
        plot_curves(task_labels, task_scores, out / "tasks" / task, task)
        if index == 0:
            plot_curves(task_labels, task_scores, out, task)
    save_json(out / "metrics.json", result)
    with atomic_path(out / "metrics.md") as tmp:
        tmp.write_text(metrics_tables(result))
    save_npz(out / "test_scores.npz", ids=ids, labels=labels, weights=weights, tasks=np.array(tasks), **scores)
    save_json(out / "ablation.json", ablation)
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(ablation_table(ablation))
    for task in tasks:
        for name, per_task in result["models"].items():
            values = per_task["tasks"][task]
            if values["status"] == "ok":
                log.info("%s, %s: test ROC AUC %.4f, PR AUC %.4f", task, name, values["roc_auc"]["value"],
                         values["pr_auc"]["value"])
    return result


def metrics_tables(result: dict) -> str:
    """Markdown: one :func:`metrics_table` per task of a multi-task result (windows whose
    label is masked for a task are left out of its table).
    """
    parts = []
    for task, counts in result["tasks"].items():
        single = {**counts, "bootstrap": result["bootstrap"],
                  "models": {name: values["tasks"][task] for name, values in result["models"].items()}}
        parts.append(f"## {task}\n\n" + metrics_table(single))
    if result.get("motif"):
        parts.append("motif_baseline scores every task with the same scan of "
                     f"{result['motif']['matrix']}.\n")
    return "\n".join(parts)


def metrics_table(result: dict) -> str:
    """A Markdown table of every model's test metrics with their 95% intervals."""
    header = "| model | " + " | ".join(_LABELS[m] for m in METRICS) + " |"
    lines = [f"Test split: {result['windows']:,} windows, {result['positives']:,} positive, "
             f"{result['negatives']:,} negative. Brackets: bootstrap 95% interval "
             f"({result['bootstrap']['resamples']} resamples).", "", header,
             "|---|" + "---|" * len(METRICS)]
    for name, values in result["models"].items():
        if values["status"] != "ok":
            lines.append(f"| {name} | " + " | ".join([values["status"]] * len(METRICS)) + " |")
            continue
        cells = [f"{values[m]['value']:.3f} [{values[m]['ci95_low']:.3f}, {values[m]['ci95_high']:.3f}]"
                 for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for status, meaning in (("collapsed", "their scores carry no ranking"),
                            ("not learned", "training learned nothing, so a test figure would be chance")):
        failed = [f"{name}: {values['reason']}" for name, values in result["models"].items()
                  if values["status"] == status]
        if failed:
            lines += ["", f"{status.capitalize()} models ({meaning}; no metric is given): " + "; ".join(failed) + "."]
    return "\n".join(lines) + "\n"
