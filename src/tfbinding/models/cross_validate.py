"""Out-of-fold evaluation of K-fold models (the ``cross_validate`` step).

With ``split.folds: K`` every kept window is in exactly one fold's test split, so every
window has the score of the one model that never trained (nor early-stopped) on it. This
step gathers each fold's test scores (``evaluation/fold<k>/test_scores.npz``) and reports:

- **out-of-fold metrics**: ROC AUC, PR AUC and recall at 10% / 50% FDR over all windows,
  with bootstrap 95% intervals (resampling windows);
- **spread over folds**: each fold's test figures and their mean ± sd;
- **paired comparison**: each model against ``motif_baseline`` on the same windows, the
  difference of each metric with a paired bootstrap interval (the same resampled windows
  for both) and the fraction of resamples where the model is ahead;
- **the ablation over folds**: the study's claims (:func:`tfbinding.models.ablation.ablation_report`)
  in each fold, a claim resting on a model that did not learn being undecided there;
- **the ensemble's site threshold** per trained model: the lowest out-of-fold score at
  which the windows called reach the FDR (``<model>.threshold.json``, the file
  ``calibrate`` writes for one model), which ``predict`` uses for the fold ensemble.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import atomic_path, save_json, save_npz
from tfbinding.config import MOTIF_BASELINE
from tfbinding.errors import InputError
from tfbinding.models.ablation import ablation_report
from tfbinding.models.metrics import METRICS, evaluate_scores, threshold_at_fdr
from tfbinding.plotting import plot_curves

log = logging.getLogger(__name__)

_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "recall_at_10_fdr": "recall @ 10% FDR",
           "recall_at_50_fdr": "recall @ 50% FDR"}


def gather_out_of_fold(score_files: Sequence[str | os.PathLike]) -> dict[str, np.ndarray]:
    """Every fold's test scores, concatenated in fold order.

    Parameters
    ----------
    score_files : the ``test_scores.npz`` of folds 0 .. K-1 (``ids``, ``labels`` and one
        array per model).

    Returns
    -------
    dict
        ``ids``, ``labels``, ``fold`` (the fold whose model scored each window) and each
        model's scores, one row per window.

    Raises
    ------
    InputError
        Folds that score different models, or a window in two folds' test splits.
    """
    pieces: dict[str, list[np.ndarray]] = {}
    models = None
    for fold, path in enumerate(score_files):
        with np.load(path) as archive:
            mine = sorted(set(archive.files) - {"ids", "labels", "weights", "tasks"})
            if models is not None and mine != models:
                raise InputError(f"{path}: scores of {mine}, but fold 0 has {models}; rerun the evaluation")
            models = mine
            if "tasks" in archive.files and len(archive["tasks"]) > 1:
                raise InputError(f"{path}: several tasks; out-of-fold metrics are single-task")
            for key in ("ids", "labels", *mine):
                pieces.setdefault(key, []).append(np.asarray(archive[key]).reshape(len(archive["ids"]), -1)
                                                  [:, 0] if key != "ids" else archive["ids"])
            pieces.setdefault("fold", []).append(np.full(len(archive["ids"]), fold, dtype=np.int16))
    gathered = {key: np.concatenate(value) for key, value in pieces.items()}
    if len(np.unique(gathered["ids"])) != len(gathered["ids"]):
        raise InputError("a window is in two folds' test splits: rebuild the dataset")
    return gathered


def oof_threshold(labels: np.ndarray, scores: np.ndarray, fdr: float) -> dict:
    """The lowest out-of-fold score whose windows at or above it reach ``fdr``, with the
    FDR, calls and recall it reaches there (as ``calibrate`` reports on a validation split).
    """
    labels = np.asarray(labels).ravel()
    threshold = threshold_at_fdr(labels, scores, fdr)
    called = scores >= threshold
    return {"threshold": threshold,
            "out_of_fold_fdr": float(np.mean(labels[called] == 0)) if called.any() else 0.0,
            "out_of_fold_windows_called": int(called.sum()),
            "out_of_fold_recall": float(labels[called].sum() / max(labels.sum(), 1))}


def paired_bootstrap(labels: np.ndarray, scores: np.ndarray, reference: np.ndarray,
                     bootstrap: int = 1000, seed: int = 0) -> dict[str, dict[str, float]]:
    """Each metric's difference ``scores`` - ``reference`` on the same windows, with a
    paired bootstrap 95% interval (both scored on the same resampled windows) and the
    fraction of resamples in which ``scores`` is ahead.
    """
    labels = np.asarray(labels).ravel()
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(labels), size=(bootstrap, len(labels)))
    result = {}
    for name, metric in METRICS.items():
        deltas = np.array([metric(labels[rows], scores[rows]) - metric(labels[rows], reference[rows])
                           for rows in samples])
        low, high = np.nanpercentile(deltas, [2.5, 97.5]) if bootstrap else (np.nan, np.nan)
        result[name] = {"difference": metric(labels, scores) - metric(labels, reference),
                        "ci95_low": float(low), "ci95_high": float(high),
                        "fraction_ahead": float(np.mean(deltas > 0)) if bootstrap else float("nan")}
    return result


def _metrics_from_counts(true_pos: np.ndarray, false_pos: np.ndarray, positives: float,
                         negatives: float) -> dict[str, float]:
    """:data:`METRICS` from the cumulative true and false positives at each distinct score,
    high to low, by the very formulas of :mod:`tfbinding.models.metrics`.
    """
    nan = float("nan")
    if positives == 0:
        return {"roc_auc": nan, "pr_auc": nan, "recall_at_10_fdr": nan, "recall_at_50_fdr": nan}
    if negatives == 0:
        roc = nan
    else:
        tpr = np.concatenate(([0.0], true_pos / positives))
        fpr = np.concatenate(([0.0], false_pos / negatives))
        roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    called = true_pos + false_pos
    precision = true_pos / called
    recall = true_pos / positives
    result = {"roc_auc": roc, "pr_auc": float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))}
    share = false_pos / called
    for name, fdr in (("recall_at_10_fdr", 0.10), ("recall_at_50_fdr", 0.50)):
        ok = share <= fdr
        result[name] = float(true_pos[ok].max() / positives) if ok.any() else 0.0
    return result


class _Ranked:
    """One score column sorted once (high to low, ties grouped), so that a resample, given
    as each window's multiplicity, needs no sort of its own.
    """

    def __init__(self, labels: np.ndarray, scores: np.ndarray):
        scores = np.asarray(scores, dtype=np.float64).ravel()
        self.order = np.argsort(-scores, kind="mergesort")
        ranked = scores[self.order]
        self.positive = labels[self.order]
        self.starts = (np.concatenate(([0], np.flatnonzero(np.diff(ranked)) + 1)) if len(ranked)
                       else np.zeros(0, dtype=np.int64))

    def metrics(self, weights: np.ndarray) -> dict[str, float]:
        """The metrics of the resample in which window ``i`` appears ``weights[i]`` times."""
        w = weights[self.order]
        hits = np.add.reduceat(w * self.positive, self.starts)
        total = np.add.reduceat(w, self.starts)
        kept = total > 0  # scores absent from the resample are no threshold of it
        true_pos = np.cumsum(hits[kept])
        false_pos = np.cumsum(total[kept]) - true_pos
        positives = float(true_pos[-1]) if len(true_pos) else 0.0
        negatives = float(false_pos[-1]) if len(false_pos) else 0.0
        return _metrics_from_counts(true_pos.astype(np.float64), false_pos.astype(np.float64),
                                    positives, negatives)


def bootstrap_values(labels: np.ndarray, columns: Mapping[str, np.ndarray], bootstrap: int = 1000,
                     seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Every metric of every score column on the same ``bootstrap`` resamples of windows.

    The resamples are those of :func:`tfbinding.models.metrics.evaluate_scores` and
    :func:`paired_bootstrap` with the same ``seed`` (drawn one resample at a time from the
    same generator), and the values are theirs exactly; but each column is sorted once and
    each resample is a count per window, so all columns and metrics share one draw and no
    resample is sorted (the out-of-fold step's cost was these sorts).

    Returns
    -------
    dict
        column -> metric -> ``(bootstrap,)`` float64 values.
    """
    labels = np.asarray(labels).ravel() > 0.5
    ranked = {name: _Ranked(labels, scores) for name, scores in columns.items()}
    values = {name: {metric: np.empty(bootstrap) for metric in METRICS} for name in columns}
    rng = np.random.default_rng(seed)
    for draw in range(bootstrap):
        weights = np.bincount(rng.integers(0, len(labels), size=len(labels)), minlength=len(labels))
        for name, column in ranked.items():
            for metric, value in column.metrics(weights).items():
                values[name][metric][draw] = value
    return values


def _interval(values: np.ndarray) -> tuple[float, float]:
    low, high = np.nanpercentile(values, [2.5, 97.5]) if len(values) else (np.nan, np.nan)
    return float(low), float(high)


def fold_spread(fold_metrics: Sequence[Mapping], model: str) -> dict:
    """One model's test figures in each fold (None where it collapsed or did not learn)
    and their mean ± sd over the folds that have one.
    """
    spread = {}
    for name in METRICS:
        values = [entry["models"].get(model, {}).get(name, {}).get("value") for entry in fold_metrics]
        known = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
        spread[name] = {"folds": values, "mean": float(known.mean()) if known.size else None,
                        "sd": float(known.std(ddof=1)) if known.size > 1 else None}
    spread["status"] = [entry["models"].get(model, {}).get("status") for entry in fold_metrics]
    return spread


def ablation_over_folds(model_dirs: Sequence[Mapping[str, str | os.PathLike]]) -> dict:
    """The study's claims in each fold (:func:`ablation_report` of that fold's models) and,
    per claim, how many folds say yes, no or undecided.
    """
    reports = [ablation_report(dirs) for dirs in model_dirs]
    claims: dict[str, dict] = {}
    for fold, report in enumerate(reports):
        for claim, verdict in report["claims"].items():
            entry = claims.setdefault(claim, {"yes": 0, "no": 0, "undecided": 0, "folds": []})
            key = "undecided" if verdict["holds"] is None else ("yes" if verdict["holds"] else "no")
            entry[key] += 1
            entry["folds"].append({"fold": fold, "verdict": verdict["verdict"], "evidence": verdict["evidence"]})
    return {"claims": claims, "folds": reports}


def cross_validate(score_files: Sequence[str | os.PathLike], metrics_files: Sequence[str | os.PathLike],
                   model_dirs: Sequence[Mapping[str, str | os.PathLike]], out_dir: str | os.PathLike,
                   bootstrap: int = 1000, seed: int = 0, fdr: float = 0.1) -> dict:
    """Write the out-of-fold evaluation into ``out_dir``; return ``metrics.json``'s content.

    Parameters
    ----------
    score_files, metrics_files : each fold's ``test_scores.npz`` and ``metrics.json``
        (the evaluate step's, folds 0 .. K-1).
    model_dirs : per fold, trained model name -> its folder (for the ablation).
    out_dir : receives ``metrics.json``, ``metrics.md``, ``roc.png``, ``pr.png``,
        ``scores.npz`` (ids, labels, fold, each model's out-of-fold scores),
        ``ablation.md`` and ``<model>.threshold.json`` per trained model.
    bootstrap, seed : resamples and seed of every interval (default 1000, 0).
    fdr : the ensemble site threshold's FDR on the out-of-fold scores (default 0.1).
    """
    import json

    if len(score_files) != len(metrics_files) or len(score_files) != len(model_dirs):
        raise InputError("give one scores file, one metrics file and one set of model folders per fold")
    data = gather_out_of_fold(score_files)
    fold_metrics = [json.loads(Path(path).read_text()) for path in metrics_files]
    labels = data["labels"]
    models = [name for name in data if name not in ("ids", "labels", "fold")]
    result = {"folds": len(score_files), "windows": int(labels.size), "positives": int(labels.sum()),
              "negatives": int(labels.size - labels.sum()),
              "bootstrap": {"resamples": bootstrap, "seed": seed, "interval": "95% percentile",
                            "paired": "both models scored on the same resampled windows"},
              "per_fold_windows": [int(np.count_nonzero(data["fold"] == k)) for k in range(len(score_files))],
              "per_fold_positives": [int(labels[data["fold"] == k].sum()) for k in range(len(score_files))],
              "models": {}}
    # one set of resamples for every model: the intervals and the paired differences of
    # evaluate_scores and paired_bootstrap (same seed), without sorting each resample
    fast = set(METRICS) == {"roc_auc", "pr_auc", "recall_at_10_fdr", "recall_at_50_fdr"}
    resampled = bootstrap_values(labels, {name: data[name] for name in models}, bootstrap, seed) if fast else None
    for name in models:
        spread = fold_spread(fold_metrics, name)
        if resampled is None:
            figures = evaluate_scores(labels, data[name], bootstrap, seed)
        else:
            figures = {metric: {"value": function(labels, data[name]),
                                **dict(zip(("ci95_low", "ci95_high"), _interval(resampled[name][metric])))}
                       for metric, function in METRICS.items()}
        entry = {"out_of_fold": figures, "per_fold": spread}
        failed = [k for k, status in enumerate(spread["status"]) if status not in (None, "ok")]
        entry["status"] = "ok" if not failed else f"{', '.join(spread['status'][k] for k in failed)} in fold(s) {failed}"
        if MOTIF_BASELINE in data and name != MOTIF_BASELINE:
            if resampled is None:
                entry["vs_motif_baseline"] = paired_bootstrap(labels, data[name], data[MOTIF_BASELINE], bootstrap,
                                                              seed)
            else:
                entry["vs_motif_baseline"] = {}
                for metric, function in METRICS.items():
                    deltas = resampled[name][metric] - resampled[MOTIF_BASELINE][metric]
                    low, high = _interval(deltas)
                    entry["vs_motif_baseline"][metric] = {
                        "difference": function(labels, data[name]) - function(labels, data[MOTIF_BASELINE]),
                        "ci95_low": low, "ci95_high": high,
                        "fraction_ahead": float(np.mean(deltas > 0)) if bootstrap else float("nan")}
        result["models"][name] = entry
    trained = [name for name in models if name != MOTIF_BASELINE]
    ablation = ablation_over_folds([{m: d[m] for m in trained if m in d} for d in model_dirs]) if trained else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in trained:
        save_json(out / f"{name}.threshold.json",
                  {"model": name, "target_fdr": fdr, "calibrated_on": "out-of-fold test scores of the fold models",
                   **oof_threshold(labels, data[name], fdr)},
                  reasons={"/threshold": f"no threshold reaches FDR {fdr} on the out-of-fold scores"})
    save_json(out / "metrics.json", {**result, "ablation": ablation["claims"] if ablation else None})
    with atomic_path(out / "metrics.md") as tmp:
        tmp.write_text(out_of_fold_table(result))
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(ablation_over_folds_table(ablation))
    save_npz(out / "scores.npz", **data)
    plot_curves(labels, {name: data[name] for name in models}, out)
    for name, entry in result["models"].items():
        oof = entry["out_of_fold"]
        log.info("%s: out-of-fold ROC AUC %.4f [%.4f, %.4f], PR AUC %.4f [%.4f, %.4f]", name,
                 oof["roc_auc"]["value"], oof["roc_auc"]["ci95_low"], oof["roc_auc"]["ci95_high"],
                 oof["pr_auc"]["value"], oof["pr_auc"]["ci95_low"], oof["pr_auc"]["ci95_high"])
    return result


def _cell(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def out_of_fold_table(result: dict) -> str:
    """Markdown: the out-of-fold metrics, the spread over folds, the paired comparison."""
    lines = [f"Out of fold: {result['windows']:,} windows ({result['positives']:,} positive) in "
             f"{result['folds']} folds, each scored by the one model that did not train on it. "
             f"Brackets: bootstrap 95% interval ({result['bootstrap']['resamples']} resamples of windows).",
             "", "| model | " + " | ".join(_LABELS[m] for m in METRICS) + " | status |",
             "|---|" + "---|" * (len(METRICS) + 1)]
    for name, entry in result["models"].items():
        cells = [f"{_cell(v['value'])} [{_cell(v['ci95_low'])}, {_cell(v['ci95_high'])}]"
                 for v in (entry["out_of_fold"][m] for m in METRICS)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {entry['status']} |")
    lines += ["", "Per fold (test split of each fold; mean ± sd over the folds):", "",
              "| model | metric | " + " | ".join(f"fold {k}" for k in range(result["folds"])) + " | mean ± sd |",
              "|---|---|" + "---|" * (result["folds"] + 1)]
    for name, entry in result["models"].items():
        for metric in ("roc_auc", "pr_auc"):
            spread = entry["per_fold"][metric]
            cells = [_cell(v) for v in spread["folds"]]
            lines.append(f"| {name} | {_LABELS[metric]} | " + " | ".join(cells)
                         + f" | {_cell(spread['mean'])} ± {_cell(spread['sd'])} |")
    paired = {name: entry["vs_motif_baseline"] for name, entry in result["models"].items()
              if "vs_motif_baseline" in entry}
    if paired:
        lines += ["", f"Against {MOTIF_BASELINE} on the same windows (paired bootstrap: difference "
                  "[95% interval], fraction of resamples ahead):", "",
                  "| model | " + " | ".join(_LABELS[m] for m in ("roc_auc", "pr_auc")) + " |", "|---|---|---|"]
        for name, entry in paired.items():
            cells = [f"{entry[m]['difference']:+.3f} [{entry[m]['ci95_low']:+.3f}, {entry[m]['ci95_high']:+.3f}], "
                     f"{entry[m]['fraction_ahead']:.2f}" for m in ("roc_auc", "pr_auc")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ablation_over_folds_table(ablation: dict | None) -> str:
    """Markdown: each claim's verdict in each fold and the tally."""
    if not ablation or not ablation["claims"]:
        return "No ablation: the study's models were not all trained.\n"
    lines = ["The study's claims in each fold (from each fold model's training history):", ""]
    for claim, entry in ablation["claims"].items():
        lines.append(f"- {claim}: yes in {entry['yes']}, no in {entry['no']}, undecided in "
                     f"{entry['undecided']} of {len(entry['folds'])} folds")
        lines += [f"  - fold {f['fold']}: {f['verdict']} ({f['evidence']})" for f in entry["folds"]]
    return "\n".join(lines) + "\n"
