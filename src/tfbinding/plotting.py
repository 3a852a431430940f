"""Figures: training curves, ROC and PR curves. Matplotlib runs headless (Agg), set once here."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

from tfbinding.atomic import atomic_path  # noqa: E402
from tfbinding.models.metrics import curve_points  # noqa: E402


def save_figure(figure, path: str | os.PathLike, dpi: int = 100) -> None:
    """Write ``figure`` as PNG atomically and free it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
    plt.close(figure)


def plot_history(history: list[dict[str, float]], title: str, path: str | os.PathLike) -> None:
    """Loss, ROC AUC and PR AUC per epoch, train and valid, side by side; train is drawn
    both as Keras' running figure (dropout on) and scored after the epoch (dropout off).
    """
    epochs = [row["epoch"] + 1 for row in history]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for axis, (key, label) in zip(axes, (("loss", "loss"), ("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"))):
        axis.plot(epochs, [row[key] for row in history], label="train (running)" if key != "loss" else "train")
        if f"train_{key}" in history[0]:
            axis.plot(epochs, [row[f"train_{key}"] for row in history], label="train (after epoch)")
        axis.plot(epochs, [row[f"val_{key}"] for row in history], label="valid")
        axis.set_xlabel("epoch")
        axis.set_title(label)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    save_figure(figure, path)


def plot_curves(labels: np.ndarray, scores: dict[str, np.ndarray], out: Path, task: str | None = None) -> None:
    """``roc.png`` and ``pr.png`` in ``out``, every model on each; a ``task`` is named in
    the titles.
    """
    for kind, (x, y, xlabel, ylabel) in {"roc": ("fpr", "tpr", "false positive rate", "true positive rate"),
                                         "pr": ("recall", "precision", "recall", "precision")}.items():
        figure, axis = plt.subplots(figsize=(5, 5))
        for name, values in scores.items():
            points = curve_points(labels, values)
            axis.plot(points[x], points[y], label=name)
        if kind == "roc":
            axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        else:
            axis.axhline(labels.mean(), color="grey", linestyle=":", linewidth=1, label="chance")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.set_title(f"{task + ': ' if task else ''}{kind.upper()} on the test split")
        axis.legend(loc="lower right" if kind == "roc" else "upper right")
        figure.tight_layout()
        save_figure(figure, Path(out) / f"{kind}.png")
