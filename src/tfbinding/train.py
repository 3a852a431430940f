"""Train one model on a built dataset: seeded, deterministic, best checkpoint by
validation PR AUC, with its history and training curves."""
from __future__ import annotations

import logging
import os
from dataclasses import asdict

from .ablation import read_history
from .atomic import atomic_path, save_json
from .inference import MODEL_FILE, configure_tensorflow
from .loader import load_dataset
from .metrics import collapse_reason
from .models import build_model
from .options import TrainingConfig, check_model, uses_reverse_complement, uses_weights
from .plotting import plot_history

log = logging.getLogger(__name__)


def train_model(dataset_dir: str | os.PathLike, model_name: str, out_dir: str | os.PathLike,
                config: TrainingConfig = TrainingConfig(), threads: int | None = None) -> dict:
    """Train one model and keep its best epoch.

    Parameters
    ----------
    dataset_dir : path
        A built dataset (``results/<name>/dataset``).
    model_name : str
        One of :data:`tfbinding.options.TRAINED_MODELS`.
    out_dir : path
        Receives ``model.keras`` (the epoch with the best validation PR AUC),
        ``history.csv`` and ``curves.png``; the folder is swapped in whole.
    config : TrainingConfig, default the study's settings
    threads : int or None, default None
        CPU threads for TensorFlow.

    Returns
    -------
    dict
        The best epoch, epochs run, its validation PR and ROC AUC, and the settings.

    Raises
    ------
    InputError
        For an unknown model or a missing dataset.
    """
    check_model(model_name)
    configure_tensorflow(config.seed, threads)
    import keras

    from .batches import SplitBatches

    data = load_dataset(dataset_dir)
    improved = model_name == "improved"
    batch_size = config.improved_batch_size if improved else config.batch_size
    epochs = config.improved_epochs if improved else config.epochs
    model = build_model(model_name, data.train["X"].shape[1], config)
    model.summary(print_fn=log.info)
    train_batches = SplitBatches(data.train, batch_size, weighted=uses_weights(model_name), shuffle=True,
                                 reverse_complement_half=uses_reverse_complement(model_name),
                                 seed=config.seed)
    valid_batches = SplitBatches(data.valid, batch_size, weighted=False)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        callbacks = [
            keras.callbacks.ModelCheckpoint(tmp / MODEL_FILE, monitor="val_pr_auc", mode="max",
                                            save_best_only=True),
            # the study's SGD models sit on a plateau for their first epochs before they learn
            keras.callbacks.EarlyStopping(monitor="val_pr_auc", mode="max", patience=config.patience,
                                          start_from_epoch=0 if improved else config.early_stopping_start),
            keras.callbacks.CSVLogger(tmp / "history.csv"),
        ]
        model.fit(train_batches, validation_data=valid_batches, epochs=epochs, callbacks=callbacks,
                  verbose=2)
        history = read_history(tmp / "history.csv")
        plot_history(history, model_name, tmp / "curves.png")
        best = max(history, key=lambda row: row["val_pr_auc"])
        summary = {"model": model_name, "best_epoch": int(best["epoch"]) + 1, "epochs_run": len(history),
                   "val_pr_auc": best["val_pr_auc"], "val_roc_auc": best["val_roc_auc"],
                   "training": asdict(config)}
        summary["collapsed"] = collapse_reason(train_roc_auc=max(row["roc_auc"] for row in history))
        save_json(tmp / "training.json", summary)
        log.info("%s: best epoch %d of %d, validation PR AUC %.4f, ROC AUC %.4f", model_name,
                 summary["best_epoch"], summary["epochs_run"], best["val_pr_auc"], best["val_roc_auc"])
        if summary["collapsed"]:
            log.warning("%s: COLLAPSED: %s", model_name, summary["collapsed"])
    return summary
