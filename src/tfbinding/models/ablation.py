"""The study's ablation, checked rather than asserted: from each model's training history,
its best train and valid ROC/PR AUC, the epoch of the best, the train-valid gap, and
whether ``no_dropout`` overfits, ``no_weights`` lags and ``full`` is the best of the three.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Mapping, Sequence

from tfbinding.config import STUDY_MODELS
from tfbinding.models.metrics import not_learned_reason


def read_history(path: str | os.PathLike) -> list[dict[str, float]]:
    """Rows of a Keras ``CSVLogger`` file as floats."""
    with open(path) as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def train_metric(row: dict[str, float], metric: str) -> float:
    """An epoch's train ``metric`` (``"roc_auc"`` or ``"pr_auc"``) in inference mode
    (``train_<metric>``, dropout off); histories written before that column existed give
    Keras' running, dropout-on figure.
    """
    return row.get(f"train_{metric}", row[metric])


def summarise_history(history: list[dict[str, float]]) -> dict[str, float]:
    """Best train and valid ROC/PR AUC over the epochs, the best epoch (by valid PR AUC,
    1-based, as checkpointed) and the train-valid PR AUC gap at that epoch. Train figures
    are the inference-mode ones (:func:`train_metric`).
    """
    best = max(history, key=lambda row: row["val_pr_auc"])
    return {
        "epochs_run": len(history),
        "best_epoch": int(best["epoch"]) + 1,
        "best_train_roc_auc": max(train_metric(row, "roc_auc") for row in history),
        "best_train_pr_auc": max(train_metric(row, "pr_auc") for row in history),
        "best_valid_roc_auc": max(row["val_roc_auc"] for row in history),
        "best_valid_pr_auc": best["val_pr_auc"],
        "gap_pr_auc": train_metric(best, "pr_auc") - best["val_pr_auc"],
        "gap_roc_auc": train_metric(best, "roc_auc") - best["val_roc_auc"],
    }


def ablation_claims(summaries: Mapping[str, Mapping[str, float]],
                    not_learned: Mapping[str, str] | None = None) -> dict[str, dict]:
    """The study's three claims, each with its verdict and the figures behind it.

    - ``no_dropout`` overfits: its train-valid PR AUC gap exceeds ``full``'s;
    - ``no_weights`` lags: its best valid PR AUC is below ``full``'s, or it needs more epochs;
    - ``full`` is the best of the three by best valid PR AUC.
    Claims whose models were not trained are left out. A claim that rests on a model in
    ``not_learned`` (name: reason) is not answered: its ``holds`` is None and its verdict
    says which model learned nothing.
    """
    claims = _claims(summaries)
    for claim, verdict in claims.items():
        failed = [name for name in verdict["models"] if name in (not_learned or {})]
        if failed:
            verdict["holds"] = None
            verdict["verdict"] = "undecided: " + ", ".join(f"{name} did not learn ({not_learned[name]})"
                                                           for name in failed)
        else:
            verdict["verdict"] = "yes" if verdict["holds"] else "no"
    return claims


def _claims(summaries: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
    claims: dict[str, dict] = {}
    if {"no_dropout", "full"} <= set(summaries):
        gaps = (summaries["no_dropout"]["gap_pr_auc"], summaries["full"]["gap_pr_auc"])
        claims["no_dropout overfits"] = {"holds": gaps[0] > gaps[1], "models": ["no_dropout", "full"],
                                         "evidence": f"train-valid PR AUC gap {gaps[0]:.3f} vs full {gaps[1]:.3f}"}
    if {"no_weights", "full"} <= set(summaries):
        lag, full = summaries["no_weights"], summaries["full"]
        holds = lag["best_valid_pr_auc"] < full["best_valid_pr_auc"] or lag["best_epoch"] > full["best_epoch"]
        claims["no_weights lags"] = {"holds": holds, "models": ["no_weights", "full"], "evidence": (
            f"best valid PR AUC {lag['best_valid_pr_auc']:.3f} (epoch {lag['best_epoch']}) vs full "
            f"{full['best_valid_pr_auc']:.3f} (epoch {full['best_epoch']})")}
    present = [m for m in STUDY_MODELS if m in summaries]
    if "full" in summaries and len(present) > 1:
        best = max(present, key=lambda m: summaries[m]["best_valid_pr_auc"])
        claims["full is the best of the three"] = {"holds": best == "full", "models": present, "evidence": "best valid PR AUC: " + ", ".join(
            f"{m} {summaries[m]['best_valid_pr_auc']:.3f}" for m in present)}
    return claims


def ablation_report(model_dirs: Mapping[str, str | os.PathLike], tasks: Sequence[str] = ()) -> dict:
    """Summaries of every trained model's ``history.csv`` and the study's claims.

    With several ``tasks`` the histories' AUCs are means over the tasks (the training
    curves'); the report lists the tasks so that its table says so.
    """
    histories = {name: read_history(Path(folder) / "history.csv") for name, folder in model_dirs.items()}
    summaries = {name: summarise_history(history) for name, history in histories.items()}
    not_learned = {name: reason for name, history in histories.items() if (reason := not_learned_reason(history))}
    for name, reason in not_learned.items():
        summaries[name]["not_learned"] = reason
    report = {"models": summaries, "claims": ablation_claims(summaries, not_learned)}
    if len(tasks) > 1:
        report["mean_over_tasks"] = list(tasks)
    return report


def ablation_table(report: dict) -> str:
    """The ablation as Markdown: one row per model, then the claims."""
    lines = []
    if report.get("mean_over_tasks"):
        lines += [f"Train and valid figures are means over the tasks ({', '.join(report['mean_over_tasks'])}) "
                  "of each task's AUC, as in the training curves; metrics.md has each task on the test split.",
                  ""]
    lines += ["| model | best train ROC AUC | best train PR AUC | best valid ROC AUC | best valid PR AUC "
             "| best epoch | train-valid PR AUC gap |", "|---|---|---|---|---|---|---|"]
    for name, row in report["models"].items():
        flag = " (not learned)" if row.get("not_learned") else ""
        lines.append(f"| {name}{flag} | {row['best_train_roc_auc']:.3f} | {row['best_train_pr_auc']:.3f} | "
                     f"{row['best_valid_roc_auc']:.3f} | {row['best_valid_pr_auc']:.3f} | "
                     f"{row['best_epoch']} of {row['epochs_run']} | {row['gap_pr_auc']:+.3f} |")
    lines.append("")
    for claim, verdict in report["claims"].items():
        lines.append(f"- {claim}: **{verdict['verdict']}** ({verdict['evidence']})")
    failed = [f"{name}: {row['not_learned']}" for name, row in report["models"].items() if row.get("not_learned")]
    if failed:
        lines += ["", "Models that learned nothing (no verdict rests on them): " + "; ".join(failed) + "."]
    return "\n".join(lines) + "\n"
