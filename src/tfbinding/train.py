"""Train one model on a built dataset: seeded, deterministic, best checkpoint by
validation PR AUC, with its history and training curves."""
from __future__ import annotations

import csv
import logging
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .dataset import load_dataset
from .models import TrainingConfig, build_model, uses_reverse_complement, uses_weights

log = logging.getLogger(__name__)


def configure_tensorflow(seed: int, threads: int | None = None) -> None:
    """Seed Python, numpy and TensorFlow, make ops deterministic, and cap CPU threads."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already started in this process (notebooks, tests)
            log.debug("TensorFlow's thread pools are already set; keeping them")


def predict_probabilities(model, X: np.ndarray, reverse_complement_average: bool = False,
                          batch_size: int = 4096) -> np.ndarray:
    """Probabilities for windows ``X`` (a uint8 memory map is read a batch at a time);
    averaged with the reverse complement's when asked."""
    from .batches import reverse_complement

    out = np.empty(len(X), dtype=np.float32)
    for first in range(0, len(X), batch_size):
        block = np.asarray(X[first:first + batch_size], dtype=np.float32)
        p = model.predict_on_batch(block).reshape(-1)
        if reverse_complement_average:
            p = (p + model.predict_on_batch(reverse_complement(block)).reshape(-1)) / 2
        out[first:first + len(block)] = p
    return out


def train_model(dataset_dir: str | os.PathLike, variant: str, out_dir: str | os.PathLike,
                config: TrainingConfig = TrainingConfig(), threads: int | None = None) -> dict:
    """Train ``variant`` and write ``model.keras``, ``history.csv`` and ``curves.png`` into
    ``out_dir`` (swapped in whole). Returns the best epoch's validation metrics."""
    configure_tensorflow(config.seed, threads)
    import keras

    from .batches import SplitBatches

    data = load_dataset(dataset_dir)
    improved = variant == "improved"
    batch_size = config.improved_batch_size if improved else config.batch_size
    epochs = config.improved_epochs if improved else config.epochs
    model = build_model(variant, data.train["X"].shape[1], config)
    model.summary(print_fn=log.info)
    train_batches = SplitBatches(data.train, batch_size, weighted=uses_weights(variant), shuffle=True,
                                 reverse_complement_half=uses_reverse_complement(variant),
                                 seed=config.seed)
    valid_batches = SplitBatches(data.valid, batch_size, weighted=False)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        callbacks = [
            keras.callbacks.ModelCheckpoint(tmp / "model.keras", monitor="val_pr_auc", mode="max",
                                            save_best_only=True),
            # the study's SGD models sit on a plateau for their first epochs before they learn
            keras.callbacks.EarlyStopping(monitor="val_pr_auc", mode="max", patience=config.patience,
                                          start_from_epoch=0 if improved else config.early_stopping_start),
            keras.callbacks.CSVLogger(tmp / "history.csv"),
        ]
        model.fit(train_batches, validation_data=valid_batches, epochs=epochs, callbacks=callbacks,
                  verbose=2)
        history = read_history(tmp / "history.csv")
        plot_history(history, variant, tmp / "curves.png")
        best = max(history, key=lambda row: row["val_pr_auc"])
        summary = {"model": variant, "best_epoch": int(best["epoch"]) + 1, "epochs_run": len(history),
                   "val_pr_auc": best["val_pr_auc"], "val_roc_auc": best["val_roc_auc"],
                   "training": asdict(config)}
        log.info("%s: best epoch %d of %d, validation PR AUC %.4f, ROC AUC %.4f", variant,
                 summary["best_epoch"], summary["epochs_run"], best["val_pr_auc"], best["val_roc_auc"])
    return summary


def read_history(path: str | os.PathLike) -> list[dict[str, float]]:
    """Rows of a Keras ``CSVLogger`` file as floats."""
    with open(path) as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def plot_history(history: list[dict[str, float]], title: str, path: str | os.PathLike) -> None:
    """Loss, ROC AUC and PR AUC per epoch, train and valid, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] + 1 for row in history]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for axis, (key, label) in zip(axes, (("loss", "loss"), ("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"))):
        axis.plot(epochs, [row[key] for row in history], label="train")
        axis.plot(epochs, [row[f"val_{key}"] for row in history], label="valid")
        axis.set_xlabel("epoch")
        axis.set_title(label)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
