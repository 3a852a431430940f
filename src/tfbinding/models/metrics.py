"""Classification metrics in numpy: exact ROC AUC, average precision, recall at an FDR,
and bootstrap confidence intervals. They agree with scikit-learn (tested).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def _as_arrays(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat boolean labels (1 = positive) and float64 scores."""
    return np.asarray(labels).ravel() > 0.5, np.asarray(scores, dtype=np.float64).ravel()


def _sorted_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at each distinct score threshold, from high to low."""
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.flatnonzero(np.diff(scores)) if len(scores) else np.zeros(0, int)
    cut = np.concatenate((last_of_tie, [len(scores) - 1]))
    true_pos = np.cumsum(labels)[cut]
    false_pos = cut + 1 - true_pos
    return true_pos.astype(np.float64), false_pos.astype(np.float64)


def curve_points(labels: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Points of the ROC curve (fpr, tpr) and the PR curve (recall, precision)."""
    labels, scores = _as_arrays(labels, scores)
    true_pos, false_pos = _sorted_counts(labels, scores)
    positives, negatives = labels.sum(), labels.size - labels.sum()
    return {"fpr": np.concatenate(([0.0], false_pos / negatives)),
            "tpr": np.concatenate(([0.0], true_pos / positives)),
            "recall": true_pos / positives, "precision": true_pos / (true_pos + false_pos)}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN when a class is absent."""
    labels, scores = _as_arrays(labels, scores)
    positives = labels.sum()
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    true_pos, false_pos = _sorted_counts(labels, scores)
    tpr = np.concatenate(([0.0], true_pos / positives))
    fpr = np.concatenate(([0.0], false_pos / negatives))
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # the trapezoid rule, any numpy


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision, the area under the PR curve as scikit-learn defines it:
    ``sum over thresholds of (R_n - R_{n-1}) * P_n``.
    """
    labels, scores = _as_arrays(labels, scores)
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    true_pos, false_pos = _sorted_counts(labels, scores)
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / positives
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def recall_at_fdr(labels: np.ndarray, scores: np.ndarray, fdr: float) -> float:
    """The highest recall at a threshold whose false discovery rate is at most ``fdr``
    (as in the ENCODE-DREAM challenge).
    """
    labels, scores = _as_arrays(labels, scores)
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    true_pos, false_pos = _sorted_counts(labels, scores)
    ok = false_pos / (true_pos + false_pos) <= fdr
    return float(true_pos[ok].max() / positives) if ok.any() else 0.0


def threshold_at_fdr(labels: np.ndarray, scores: np.ndarray, fdr: float) -> float:
    """The lowest score threshold at which the windows scoring at or above it have a false
    discovery rate of at most ``fdr``; +inf when no threshold reaches it.
    """
    labels, scores = _as_arrays(labels, scores)
    true_pos, false_pos = _sorted_counts(labels, scores)
    thresholds = np.unique(scores)[::-1]  # the distinct scores, high to low, as in _sorted_counts
    ok = np.flatnonzero(false_pos / (true_pos + false_pos) <= fdr)
    return float(thresholds[ok.max()]) if ok.size else float("inf")


#: scores whose spread (max - min) is below this are constant: the model collapsed
CONSTANT_SPREAD = 1e-4
#: a train ROC AUC this close to 0.5 at the end of training means nothing was learned
CHANCE_MARGIN = 0.02


def collapse_reason(scores: np.ndarray | None = None, train_roc_auc: float | None = None) -> str | None:
    """Why a model counts as collapsed, or None when it does not.

    A model has collapsed when its scores are (near-)constant, so that a ROC AUC near 0.5
    is an artefact of ties rather than a measurement, or when its best train ROC AUC is
    still within :data:`CHANCE_MARGIN` of 0.5: it never left the plateau.
    """
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).ravel()
        spread = float(scores.max() - scores.min()) if scores.size else 0.0
        if spread < CONSTANT_SPREAD:
            return f"constant scores (spread {spread:.2g} < {CONSTANT_SPREAD:g})"
    if train_roc_auc is not None and abs(train_roc_auc - 0.5) < CHANCE_MARGIN:
        return f"best train ROC AUC {train_roc_auc:.3f} is chance (0.5 ± {CHANCE_MARGIN:g})"
    return None


#: a model whose best train ROC AUC (inference mode) stays below 0.5 + this learned nothing:
#: at 0.4% positives a train ROC AUC of 0.53 is what chance plus the best of 30 epochs gives
NOT_LEARNED_ROC_MARGIN = 0.05
#: ... and so did one whose inference-mode train log loss never falls this fraction below
#: the loss of predicting the prior everywhere
NOT_LEARNED_LOSS_GAIN = 0.01


def not_learned_reason(history: list[dict[str, float]]) -> str | None:
    """Why a trained model learned nothing, from its history (``train_roc_auc``,
    ``train_log_loss``, ``train_prior_log_loss`` in inference mode), or None when it did.

    A model learned nothing when its best train ROC AUC stays below 0.5 +
    :data:`NOT_LEARNED_ROC_MARGIN`, or when its train log loss never falls clearly
    (:data:`NOT_LEARNED_LOSS_GAIN`) below the loss of predicting the prior. Histories
    without these columns (older runs) are judged on what they have.
    """
    rows = [row for row in history if "train_roc_auc" in row]
    if not rows:
        return None
    best_roc = max(row["train_roc_auc"] for row in rows)
    if best_roc < 0.5 + NOT_LEARNED_ROC_MARGIN:
        return f"best train ROC AUC {best_roc:.3f} < {0.5 + NOT_LEARNED_ROC_MARGIN:.2f}: no better than chance"
    losses = [(row["train_log_loss"], row["train_prior_log_loss"]) for row in rows if "train_log_loss" in row]
    if losses:
        loss, prior = min(losses, key=lambda pair: pair[0] / pair[1])
        if loss > (1 - NOT_LEARNED_LOSS_GAIN) * prior:
            return (f"train log loss never fell clearly below predicting the prior (best {loss:.4f} vs "
                    f"{prior:.4f}, needs < {(1 - NOT_LEARNED_LOSS_GAIN) * prior:.4f})")
    return None


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": roc_auc,
    "pr_auc": average_precision,
    "recall_at_10_fdr": lambda y, s: recall_at_fdr(y, s, 0.10),
    "recall_at_50_fdr": lambda y, s: recall_at_fdr(y, s, 0.50),
}


def evaluate_scores(labels: np.ndarray, scores: np.ndarray, bootstrap: int = 1000,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """Each metric with a bootstrap 95% interval (percentiles of ``bootstrap`` resamples
    drawn with ``seed``).
    """
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(labels), size=(bootstrap, len(labels)))
    result = {}
    for name, metric in METRICS.items():
        values = np.array([metric(labels[rows], scores[rows]) for rows in samples])
        low, high = np.nanpercentile(values, [2.5, 97.5]) if bootstrap else (np.nan, np.nan)
        result[name] = {"value": metric(labels, scores), "ci95_low": float(low), "ci95_high": float(high)}
    return result
