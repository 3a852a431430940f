"""Train one model on a built dataset: seeded, deterministic, best checkpoint by
validation PR AUC, with its history and training curves.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict

import numpy as np

from tfbinding.atomic import atomic_path, save_json
from tfbinding.config import TrainingConfig, check_model, uses_reverse_complement, uses_weights
from tfbinding.data.loader import load_dataset
from tfbinding.io.npy import read_rows
from tfbinding.models.ablation import read_history, train_metric
from tfbinding.models.architectures import build_model, fit_scan_logistic
from tfbinding.models.inference import MODEL_FILE, configure_tensorflow, predict_probabilities
from tfbinding.models.metrics import average_precision, collapse_reason, not_learned_reason, roc_auc
from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar
from tfbinding.plotting import plot_history

log = logging.getLogger(__name__)


def _positive_prior(data, weighted: bool) -> float | list[float]:
    """The positive fraction the loss sees on train: 0.5 under balanced weights; one per
    task for a multi-task dataset (masked labels left out).
    """
    tasks = data.tasks
    if len(tasks) > 1:
        y = np.asarray(data.train["y"], dtype=np.float64)
        w = np.asarray(data.train["w"], dtype=np.float64)
        w = w if weighted else (w > 0).astype(np.float64)
        return [float(v) for v in (w * y).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-12)]
    y = np.asarray(data.train["y"], dtype=np.float64).ravel()
    w = np.asarray(data.train["w"], dtype=np.float64).ravel() if weighted else np.ones_like(y)
    return float((w * y).sum() / max(w.sum(), 1e-12))


def _motif_start(data, motif: str | os.PathLike, weighted: bool) -> tuple[np.ndarray, tuple[float, float]]:
    """The log-odds matrix and ``(a, b)`` of a logistic fit of the train labels on its scan."""
    pwm = log_odds(read_jaspar(motif)[1])
    scores = best_match_scores(data.train["X"], pwm)
    weights = np.asarray(data.train["w"]).ravel() if weighted else None
    return pwm, fit_scan_logistic(scores, np.asarray(data.train["y"]).ravel(), weights)


#: train windows scored in inference mode after each epoch; a larger train split is
#: subsampled uniformly (seeded), so its ROC and PR AUC stay unbiased estimates
TRAIN_EVALUATION_ROWS = 100_000


def _masked_task_metrics(labels: np.ndarray, weights: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and PR AUC, averaged over tasks, each on its unmasked windows (``w > 0``)."""
    labels, weights, scores = (np.asarray(a).reshape(len(labels), -1) for a in (labels, weights, scores))
    rocs, prs = [], []
    for task in range(labels.shape[1]):
        keep = weights[:, task] > 0
        rocs.append(roc_auc(labels[keep, task], scores[keep, task]))
        prs.append(average_precision(labels[keep, task], scores[keep, task]))
    return float(np.nanmean(rocs)), float(np.nanmean(prs))


def weighted_log_loss(labels: np.ndarray, weights: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The weighted binary cross-entropy of ``scores``, and that of predicting the weighted
    prior (each task's ``sum(w*y) / sum(w)``) everywhere, over all tasks' unmasked entries.
    """
    y, w, p = (np.asarray(a, dtype=np.float64).reshape(len(labels), -1) for a in (labels, weights, scores))
    prior = np.clip((w * y).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-12), 1e-7, 1 - 1e-7)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    total = max(w.sum(), 1e-12)
    loss = -(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / total
    baseline = -(w * (y * np.log(prior) + (1 - y) * np.log(1 - prior))).sum() / total
    return float(loss), float(baseline)


def _train_evaluation(train: dict, reverse_complement_average: bool, weighted: bool, seed: int):
    """A Keras callback that scores the train split in inference mode (dropout off, as the
    study's ``model.evaluate(train)`` did) after each epoch and adds ``train_roc_auc``,
    ``train_pr_auc``, ``train_log_loss`` (the objective's weighted cross-entropy) and
    ``train_prior_log_loss`` (that of predicting the prior) to the epoch's logs (so to
    ``history.csv``). Keras' own ``roc_auc`` is a running average over the epoch's batches,
    taken with dropout on, which understates what the model has learned, most of all for
    the study's dropout-heavy ``full``; its loss is taken on resampled batches.
    """
    import keras

    n = len(train["y"])
    rows = (np.sort(np.random.default_rng(seed).choice(n, TRAIN_EVALUATION_ROWS, replace=False))
            if n > TRAIN_EVALUATION_ROWS else np.arange(n))
    X = read_rows(train["X"], rows)  # pread: a gather through the memory map would map most of the split
    S = read_rows(train["S"], rows) if train.get("S") is not None else None
    labels, weights = np.asarray(train["y"][rows]), np.asarray(train["w"][rows])
    objective = weights if weighted else (weights > 0).astype(np.float32)

    class TrainEvaluation(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            scores = predict_probabilities(self.model, X, reverse_complement_average, signals=S)
            roc, pr = _masked_task_metrics(labels, weights, scores)
            loss, prior_loss = weighted_log_loss(labels, objective, scores)
            if logs is not None:
                logs.update(train_roc_auc=roc, train_pr_auc=pr, train_log_loss=loss, train_prior_log_loss=prior_loss)

    return TrainEvaluation()


#: paired bootstrap resamples of the validation split when a trained epoch challenges the scan
CHALLENGE_RESAMPLES = 200
#: share of those resamples in which the epoch's PR AUC must beat the scan's
CHALLENGE_CONFIDENCE = 0.9
#: below this many validation positives no epoch may replace the scan: their PR AUC is too
#: noisy to tell a real gain from luck (measured on ../shared/data/jund_chr22, 13-24
#: positives per split, where accepted epochs lost to the scan on most test splits)
CHALLENGE_MIN_POSITIVES = 50


def beats_reference(labels: np.ndarray, candidate: np.ndarray, reference: np.ndarray, seed: int = 0,
                    resamples: int = CHALLENGE_RESAMPLES) -> float:
    """Share of paired bootstrap resamples of the windows in which ``candidate``'s PR AUC
    exceeds ``reference``'s (both scored on the same resampled windows).
    """
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(resamples):
        rows = rng.integers(0, len(labels), len(labels))
        wins += average_precision(labels[rows], candidate[rows]) > average_precision(labels[rows], reference[rows])
    return wins / resamples


def _challenger_checkpoint(path, valid: dict, scan: np.ndarray, seed: int):
    """A Keras callback that saves an epoch over the motif scan (already saved as epoch 0)
    only when it is the best so far on validation PR AUC, is not worse in ROC AUC, and
    beats the scan's PR AUC in at least :data:`CHALLENGE_CONFIDENCE` of paired bootstrap
    resamples (drawn only for such a contender): a lucky epoch must not replace the scan. With fewer than
    :data:`CHALLENGE_MIN_POSITIVES` validation positives, none does.
    """
    import keras

    labels = np.asarray(valid["y"]).ravel()
    floor = {"pr_auc": average_precision(labels, scan), "roc_auc": roc_auc(labels, scan)}

    enough = labels.sum() >= CHALLENGE_MIN_POSITIVES
    too_few = {} if enough else {"reason": f"only {int(labels.sum())} validation positives "
                                           f"(< {CHALLENGE_MIN_POSITIVES}): the scan stays"}

    class ChallengerCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.kept_epoch = 0
            self.decisions: list[dict] = []

        def on_epoch_end(self, epoch, logs=None):
            scores = predict_probabilities(self.model, valid["X"], reverse_complement_average=True,
                                           signals=valid.get("S"))
            pr, roc = average_precision(labels, scores), roc_auc(labels, scores)
            # the bootstrap (the costly part) only for an epoch that could be kept
            contender = enough and pr > floor["pr_auc"] and roc >= floor["roc_auc"]
            confidence = beats_reference(labels, scores, scan, seed + epoch) if contender else None
            keep = contender and confidence >= CHALLENGE_CONFIDENCE
            self.decisions.append({"epoch": epoch + 1, "val_pr_auc": pr, "val_roc_auc": roc,
                                   "beats_scan_share": confidence, "kept": keep, **too_few})
            if keep:
                floor.update(pr_auc=pr, roc_auc=roc)
                self.kept_epoch = epoch + 1
                self.model.save(path)
            share = ("not challenged" if confidence is None
                     else f"beats the scan in {100 * confidence:.0f}% of resamples")
            log.info("epoch %d: validation PR AUC %.4f, ROC AUC %.4f, %s: %s", epoch + 1, pr, roc, share,
                     "kept" if keep else "not kept")

    return ChallengerCheckpoint()


def training_batches(train: dict, batch_size: int, weighted: bool, imbalance: str, config: TrainingConfig,
                     reverse_complement_half: bool = False):
    """The train split's batches under an imbalance strategy (see
    :data:`tfbinding.config.IMBALANCE_STRATEGIES`); a multi-task split always gets the
    shuffled, weighted batches (the resampling strategies are single-task). Each batch is
    a function of (epoch, index) and ``config.seed``; :func:`train_model` feeds them
    through :func:`tfbinding.models.batches.batch_dataset`.
    """
    from tfbinding.models.batches import ResampledBatches, SplitBatches

    multi_task = np.ndim(train["y"]) == 2 and train["y"].shape[1] > 1
    if imbalance in ("balanced_batches", "downsample") and not multi_task:
        return ResampledBatches(train, batch_size, weighted=weighted, positive_share=config.positive_share,
                                steps=min(config.epoch_steps, math.ceil(len(train["y"]) / batch_size)),
                                mode=imbalance, reverse_complement_half=reverse_complement_half, seed=config.seed)
    return SplitBatches(train, batch_size, weighted=weighted, shuffle=True,
                        reverse_complement_half=reverse_complement_half, seed=config.seed)


def _start_as_scan(model, model_name: str, valid: dict, valid_feed, path, seed: int):
    """Save the untrained motif-informed model (the motif scan) as epoch 0; return its
    validation figures and the checkpoint callback that replaces it only when an epoch
    beats it (:func:`_challenger_checkpoint`).
    """
    scan = predict_probabilities(model, valid["X"], reverse_complement_average=True, signals=valid.get("S"))
    start = model.evaluate(valid_feed, return_dict=True, verbose=0)
    model.save(path)
    log.info("%s: before training (the motif scan), validation PR AUC %.4f, ROC AUC %.4f",
             model_name, start["pr_auc"], start["roc_auc"])
    return start, _challenger_checkpoint(path, valid, scan, seed)


def training_summary(model_name: str, history: list[dict[str, float]], config: TrainingConfig,
                     tasks: list[str], motif=None, start: dict | None = None, challenger=None,
                     scan_fit: tuple[float, float] = (1.0, 0.0)) -> dict:
    """What ``training.json`` records: the best epoch and its validation figures, the
    settings, the best train ROC AUC in inference mode, and the status: ``"ok"``,
    ``"collapsed"`` or ``"not learned"`` (with the reason, see
    :func:`tfbinding.models.metrics.not_learned_reason`). For a motif-informed model
    (``start``, ``challenger``) the kept epoch is the challenger's (0: the scan).
    """
    best = max(history, key=lambda row: row["val_pr_auc"])
    summary = {"model": model_name, "best_epoch": int(best["epoch"]) + 1, "epochs_run": len(history),
               "val_pr_auc": best["val_pr_auc"], "val_roc_auc": best["val_roc_auc"],
               "training": asdict(config), "imbalance": config.imbalance_for(model_name),
               "motif": str(motif) if motif is not None else None}
    if len(tasks) > 1:
        summary["tasks"] = tasks  # val_pr_auc, val_roc_auc: the mean over tasks
    if start is not None:
        summary["before_training"] = {"val_pr_auc": start["pr_auc"], "val_roc_auc": start["roc_auc"],
                                      "scan_logistic_fit": list(scan_fit)}
        summary["challenges"] = challenger.decisions
        kept = [row for row in challenger.decisions if row["epoch"] == challenger.kept_epoch]
        summary.update(best_epoch=challenger.kept_epoch,
                       val_pr_auc=kept[0]["val_pr_auc"] if kept else start["pr_auc"],
                       val_roc_auc=kept[0]["val_roc_auc"] if kept else start["roc_auc"])
    summary["best_train_roc_auc"] = max(train_metric(row, "roc_auc") for row in history)
    summary["collapsed"] = collapse_reason(train_roc_auc=summary["best_train_roc_auc"])
    summary["not_learned"] = not_learned_reason(history)
    summary["status"] = "collapsed" if summary["collapsed"] else "not learned" if summary["not_learned"] else "ok"
    summary["reason"] = summary["collapsed"] or summary["not_learned"]
    return summary


def train_model(dataset_dir: str | os.PathLike, model_name: str, out_dir: str | os.PathLike,
                config: TrainingConfig = TrainingConfig(), threads: int | None = None,
                motif: str | os.PathLike | None = None) -> dict:
    """Train one model and keep its best epoch.

    Parameters
    ----------
    dataset_dir : path
        A built dataset (``results/<name>/dataset``).
    model_name : str
        One of :data:`tfbinding.config.TRAINED_MODELS`.
    out_dir : path
        Receives ``model.keras`` (the epoch with the best validation PR AUC),
        ``history.csv`` and ``curves.png``; the folder is swapped in whole.
    config : TrainingConfig, default the study's settings
    threads : int or None, default None
        CPU threads for TensorFlow.
    motif : path or None, default None
        A JASPAR matrix: ``improved`` then starts as this motif's scan and keeps its
        pre-training state unless an epoch beats it on validation PR AUC.

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

    data = load_dataset(dataset_dir)
    improved = model_name == "improved"
    batch_size = config.improved_batch_size if improved else config.batch_size
    epochs = config.improved_epochs if improved else config.epochs
    weighted = uses_weights(model_name)
    train_batches = training_batches(data.train, batch_size, weighted, config.imbalance_for(model_name),
                                     config, uses_reverse_complement(model_name))
    from tfbinding.models.batches import SplitBatches, batch_dataset

    valid_feed = batch_dataset(SplitBatches(data.valid, batch_size, weighted=False), repeat=False)
    tasks = data.tasks
    if improved and motif and len(tasks) > 1:
        log.info("improved: %d tasks, so the plain improved model (the motif-informed one is "
                 "single-task); %s is not used", len(tasks), motif)
        motif = None
    pwm, scan_fit = _motif_start(data, motif, weighted) if improved and motif else (None, (1.0, 0.0))
    model = build_model(model_name, data.train["X"].shape[1], config,
                        window_length=data.manifest.get("window", {}).get("length"),
                        prior=_positive_prior(data, weighted), steps_per_epoch=len(train_batches),
                        pwm=pwm, scan_fit=scan_fit, tasks=len(tasks), channels=data.channels)
    model.summary(print_fn=log.info)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        start, checkpoint = None, keras.callbacks.ModelCheckpoint(
            tmp / MODEL_FILE, monitor="val_pr_auc", mode="max", save_best_only=True)
        if pwm is not None:
            start, checkpoint = _start_as_scan(model, model_name, data.valid, valid_feed, tmp / MODEL_FILE,
                                               config.seed)
        callbacks = [
            _train_evaluation(data.train, uses_reverse_complement(model_name), weighted, config.seed),
            checkpoint,
            keras.callbacks.EarlyStopping(monitor="val_pr_auc", mode="max", patience=config.patience,
                                          start_from_epoch=0 if improved else config.early_stopping_start),
            keras.callbacks.CSVLogger(tmp / "history.csv"),
        ]
        # tf.data feeds of the same batches: several batches per Python call (issue 21)
        model.fit(batch_dataset(train_batches), steps_per_epoch=len(train_batches), validation_data=valid_feed,
                  epochs=epochs, callbacks=callbacks, verbose=2)
        history = read_history(tmp / "history.csv")
        plot_history(history, model_name, tmp / "curves.png")
        summary = training_summary(model_name, history, config, tasks, motif if pwm is not None else None,
                                   start, checkpoint if start is not None else None, scan_fit)
        save_json(tmp / "training.json", summary)
        log.info("%s: best epoch %d of %d, validation PR AUC %.4f, ROC AUC %.4f, %s", model_name,
                 summary["best_epoch"], summary["epochs_run"], summary["val_pr_auc"], summary["val_roc_auc"],
                 summary["status"])
        if summary["status"] != "ok":
            log.warning("%s: %s: %s", model_name, summary["status"].upper(), summary["reason"])
    return summary
