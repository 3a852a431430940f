"""Score every window of a chromosome with a trained model, streaming in chunks, and write
a bedGraph, a bigWig, called sites and (where peaks are known) held-out metrics: one set
per task for a multi-task model; a signal model reads its bigWigs over the windows.
"""
from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import save_json, save_npz
from tfbinding.config import PREDICT_ENGINES, check_choice, is_multi_task, uses_reverse_complement
from tfbinding.data.encoding import encode_windows
from tfbinding.data.label_rule import LabelRule, label_windows
from tfbinding.data.tiling import WindowSelection, select_windows, tile
from tfbinding.errors import InputError
from tfbinding.genomewide.tracks import (
    call_sites,
    mean_track,
    read_threshold_file,
    write_bedgraph,
    write_bigwig,
    write_sites,
)
from tfbinding.intervals import overlap_bp
from tfbinding.io.bed import merge_intervals, read_intervals
from tfbinding.io.bigwig import SignalTracks, require_signals
from tfbinding.io.fasta import Genome
from tfbinding.models.inference import check_input_length, load_ensemble, predict_ensemble, task_names
from tfbinding.models.metrics import average_precision, roc_auc

log = logging.getLogger(__name__)

SELECT_BLOCK = 1 << 21  # tiled starts filtered at a time (:func:`select_tiled_windows`)


def prediction_stem(out_dir: str | os.PathLike, chrom: str, task: str = "") -> Path:
    """``<out_dir>/<chrom>`` for a single-task model, ``<out_dir>/<chrom>.<task>`` for a task
    of a multi-task one; its tracks are the stem plus ``.bedGraph``, ``.bw`` and
    ``.sites.narrowPeak``.
    """
    return Path(out_dir) / (f"{chrom}.{task}" if task else chrom)


def predict_chromosome(model_dir: str | os.PathLike, model_name: str, fasta: str | os.PathLike,
                       chrom: str, out_dir: str | os.PathLike, *, length: int, flank: int = 0,
                       stride: int = 50, max_n_fraction: float = 0.5,
                       threshold: float | Mapping[str, float] = 0.5, chunk: int = 1 << 16,
                       peaks: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
                       aliases: Mapping[str, str] | None = None,
                       rule: LabelRule = LabelRule(), signals: SignalTracks | None = None,
                       tasks: Sequence[str] | None = None, engine: str = "auto") -> dict:
    """Score every window of a chromosome and write tracks, sites and metrics.

    Parameters
    ----------
    model_dir : path, or sequence of paths
        A trained model's folder; several (the K fold models of ``split.folds``) predict
        as one ensemble: each window's score is the mean of theirs.
    model_name : str
        Its name (decides reverse-complement averaging).
    fasta : path
        The prepared, indexed FASTA.
    chrom : str
    out_dir : path
        Receives ``<chrom>.bedGraph``, ``.bw``, ``.sites.narrowPeak``, ``.windows.npz`` and
        ``.metrics.json``; for a multi-task model one ``<chrom>.<task>.bedGraph``, ``.bw``
        and ``.sites.narrowPeak`` per task (:func:`prediction_stem`), with the windows'
        ``(n, T)`` scores and every task's metrics in the two shared files.
    length, flank : int
        The model's window length and flank (its input is ``length + 2*flank``).
    stride : int, default 50
    max_n_fraction : float, default 0.5
        Windows with more non-ACGT bases are skipped (counted).
    threshold : float, or a mapping task -> float, default 0.5
        Site threshold (from ``calibrate``); one per task for a multi-task model (a float
        is used for every task).
    chunk : int, default 65536
        Windows encoded and scored at a time: memory is the chromosome plus one chunk.
    peaks : path, sequence of paths, or None
        Peaks for held-out metrics (ROC/PR AUC, site precision and recall); one file per
        task for a multi-task model.
    aliases : mapping or None
        Peak chromosome name -> FASTA name.
    rule : LabelRule
        How windows are labelled from ``peaks``.
    signals : SignalTracks or None
        A signal model's bigWigs, read over each window's span with the dataset's
        transforms (:mod:`tfbinding.io.bigwig`); required for such a model.
    tasks : sequence of str or None
        The names of a multi-task model's outputs (default: those in ``training.json``).
    engine : {"auto", "scan", "per_window"}, default "auto"
        How windows are scored (:func:`score_windows`): ``auto`` scans the chromosome
        where every model can be scanned exactly, and scores per window otherwise.

    Returns
    -------
    dict
        The metrics written to ``<chrom>.metrics.json`` (``engine``: the one used).

    Raises
    ------
    InputError
        Signal tracks that do not fit the model, a chromosome a bigWig lacks (unless
        ``signals.missing == "zero"``), peaks not one per task.
    """
    model_dirs = [model_dir] if isinstance(model_dir, (str, os.PathLike)) else list(model_dir)
    ensemble = load_ensemble(model_dirs)
    model, model_dir = ensemble[0], model_dirs[0]
    check_input_length(model, length, flank, model_dir)
    genome = Genome(fasta)
    sequence = genome.sequence(chrom)
    selection = select_tiled_windows(sequence, tile(len(sequence), length, stride), length,
                                     max_n_fraction, name=f"{fasta}: {chrom}")
    starts = selection.starts
    signals = require_signals(model, signals, "genome-wide prediction")
    names = task_names(model, model_dir, tasks)
    peak_files = _peaks_per_task(peaks, names)
    thresholds = _thresholds_per_task(threshold, names)
    rc = uses_reverse_complement(model_name)
    with (signals.open(chrom, genome.sizes[chrom]) if signals else nullcontext()) as reader:
        scores, used = score_windows(ensemble, sequence, starts, length, flank, rc, reader, chunk, engine)
    if not len(starts):
        scores = np.empty((0, len(names)), dtype=np.float32)
    out = Path(out_dir)
    single = not is_multi_task(names)
    arrays = {"starts": starts, "scores": scores[:, 0] if single else scores, "length": np.int64(length)}
    save_npz(out / f"{chrom}.windows.npz", **arrays, **({} if single else {"tasks": np.array(names)}))
    metrics = {"chrom": chrom, "model": model_name, "windows": int(len(starts)), "stride": stride,
               "engine": used, "skipped_windows": selection.dropped}
    if len(ensemble) > 1:
        metrics["ensemble"] = {"models": len(ensemble), "scores": "mean of the models' probabilities"}
    per_task = {task: _task_outputs(prediction_stem(out, chrom, task), chrom, starts, length,
                                    scores[:, index], thresholds[task], genome.sizes, peak_files[task],
                                    aliases, rule)
                for index, task in enumerate(names)}
    if single:
        metrics.update(per_task[""])
    else:
        metrics["tasks"] = per_task
    if reader:
        metrics["signals_zeroed"] = reader.counts
    save_json(out / f"{chrom}.metrics.json", metrics)
    log.info("%s: %d windows scored, %s sites", chrom, len(starts),
             ", ".join(f"{task or 'all'}: {entry['sites']}" for task, entry in per_task.items()))
    return metrics


def select_tiled_windows(sequence: np.ndarray, starts: np.ndarray, length: int, max_n_fraction: float,
                         name: str = "sequence", block: int | None = None) -> WindowSelection:
    """:func:`tfbinding.data.tiling.select_windows` on sorted, unique starts, ``block`` at a
    time (default :data:`SELECT_BLOCK`): the same kept starts, drop counts and count
    considered, with memory bounded by one block instead of several arrays over all windows.

    Every filter judges a window by itself (its end against the chromosome's, its own non-ACGT
    bases), so blocks give the result of one call. The first block is filtered against the
    whole sequence, which checks every byte of it (the same error as one call); later blocks
    against the part of the sequence that their windows span.
    """
    block = SELECT_BLOCK if block is None else max(int(block), 1)
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) <= block or not np.all(starts[1:] > starts[:-1]):
        return select_windows(sequence, starts, length, max_n_fraction, name=name)
    kept, dropped, considered = [], {}, 0
    for first in range(0, len(starts), block):
        part = starts[first:first + block]
        if first == 0:
            selection = select_windows(sequence, part, length, max_n_fraction, name=name)
            offset = 0
        else:  # the bases its windows span: a window past the end still runs past it
            offset = max(int(part[0]), 0)
            span = sequence[offset:max(min(len(sequence), int(part[-1]) + length), offset)]
            selection = select_windows(span, part - offset, length, max_n_fraction, name=name)
        kept.append(selection.starts + offset if offset else selection.starts)
        considered += selection.considered
        for reason, count in selection.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
    return WindowSelection(np.concatenate(kept), dropped, considered)


def score_windows(models: Sequence, sequence: np.ndarray, starts: np.ndarray, length: int, flank: int,
                  reverse_complement_average: bool, reader=None, chunk: int = 1 << 16,
                  engine: str = "auto") -> tuple[np.ndarray, str]:
    """Every window's probability, ``(n, T)`` float32, averaged over ``models``.

    Parameters
    ----------
    models : sequence of keras.Model
        One model, or the K fold models of an ensemble (the mean of their probabilities).
    sequence : (n,) uint8
        The chromosome's bytes.
    starts : (m,) int64
        Sorted window starts; each row is ``[start - flank, start + length + flank)``.
    length, flank : int
    reverse_complement_average : bool
        Average each window's score with its reverse complement's.
    reader : an open :class:`tfbinding.io.bigwig.SignalTracks` reader, or None
        A signal model's input channels, read per window.
    chunk : int, default 65536
        Windows encoded and scored at a time on the per-window path.
    engine : {"auto", "scan", "per_window"}, default "auto"
        ``scan``: run each model's convolutional trunk once along the chromosome and read
        every window out of it (:mod:`tfbinding.genomewide.scan`), equal to per-window
        scoring within float32 rounding, at a cost nearly independent of the stride.
        ``per_window``: encode and score each row (the reference). ``auto``: ``scan``
        where every model can be scanned exactly (``improved`` with valid padding, without
        signal channels), else ``per_window``.

    Returns
    -------
    (scores, engine) : the probabilities and the engine used.
    """
    check_choice(engine, PREDICT_ENGINES, "predict engine")
    scanners = None
    if engine != "per_window":
        reason = "signal channels are read per window" if reader is not None else None
        if reason is None:
            from tfbinding.genomewide.scan import Scanner, ScanUnsupported

            try:
                scanners = [Scanner(model) for model in models]
            except ScanUnsupported as error:
                reason = str(error)
            else:
                inexact = [s for s in scanners if not s.plan.exact]
                if inexact:
                    scanners, reason = None, "a convolution pads its rows (padding 'same'): the scan is not exact"
        if scanners is None:
            if engine == "scan":
                raise InputError(f"predict engine 'scan': {reason}; use engine 'per_window' or 'auto'")
            log.info("scoring per window: %s", reason)
    if scanners is not None:
        scores = np.mean([np.asarray(scanner.scan(sequence, starts, flank,
                                                  reverse_complement_average=reverse_complement_average),
                                     dtype=np.float32).reshape(len(starts), -1) for scanner in scanners], axis=0)
        return scores.astype(np.float32), "scan"
    scores = None
    for first in range(0, len(starts), chunk):
        part = starts[first:first + chunk]
        block = encode_windows(sequence, part, length, flank)
        S = reader.read(part, length + 2 * flank, flank) if reader else None
        mean = predict_ensemble(models, block, reverse_complement_average, signals=S)[0].reshape(len(part), -1)
        if scores is None:
            scores = np.empty((len(starts), mean.shape[1]), dtype=np.float32)
        scores[first:first + len(part)] = mean
    if scores is None:
        scores = np.empty((0, 1), dtype=np.float32)
    return scores, "per_window"


def _peaks_per_task(peaks, names: list[str]) -> dict[str, str | os.PathLike | None]:
    """Each task's peaks file (or None): one path for one task, one per task for several."""
    if peaks is None or isinstance(peaks, (str, os.PathLike)):
        if peaks is not None and is_multi_task(names):
            raise InputError(f"{peaks}: one peaks file for a model of {len(names)} tasks "
                             f"({', '.join(names)}); give one peaks file per task, in task order")
        return {task: peaks for task in names}
    peaks = list(peaks)
    if len(peaks) != len(names):
        raise InputError(f"{len(peaks)} peaks files for a model of {len(names)} task(s); give one "
                         "per task, in task order")
    return dict(zip(names, peaks))


def _thresholds_per_task(threshold: float | Mapping[str, float], names: list[str]) -> dict[str, float]:
    """Each task's site threshold (a float serves every task)."""
    if not isinstance(threshold, Mapping):
        return {task: float(threshold) for task in names}
    missing = [task for task in names if task not in threshold]
    if missing:
        raise InputError(f"no threshold for task(s) {', '.join(missing)} (thresholds are given for "
                         f"{', '.join(threshold) or 'none'}). Calibrate this model again")
    return {task: float(threshold[task]) for task in names}


def _task_outputs(stem: Path, chrom: str, starts: np.ndarray, length: int, scores: np.ndarray,
                  threshold: float, sizes: Mapping[str, int], peaks, aliases, rule: LabelRule) -> dict:
    """One task's bedGraph, bigWig and sites (``<stem>.bedGraph`` ...); returns its metrics."""
    track = mean_track(starts, length, scores)
    write_bedgraph(f"{stem}.bedGraph", chrom, track)
    write_bigwig(f"{stem}.bw", chrom, track, sizes)
    sites = call_sites(starts, length, scores, threshold)
    write_sites(f"{stem}.sites.narrowPeak", chrom, sites)
    metrics = {"threshold": threshold, "sites": int(len(sites.starts))}
    if peaks:
        metrics.update(held_out_metrics(peaks, sizes, chrom, starts, length, scores, sites, aliases, rule))
    return metrics


def held_out_metrics(peaks: str | os.PathLike, sizes: Mapping[str, int], chrom: str,
                     starts: np.ndarray, length: int, scores: np.ndarray, sites,
                     aliases: Mapping[str, str] | None, rule: LabelRule) -> dict:
    """ROC/PR AUC of the windows against the peaks, and the sites' precision and recall."""
    chrom_peaks = read_intervals(peaks, sizes, aliases, what="peaks").on(chrom)
    if not len(chrom_peaks):
        return {"peaks": 0, "note": "no peak on this chromosome: no metrics"}
    merged = merge_intervals(chrom_peaks.start, chrom_peaks.end, chrom)
    labels, _ = label_windows(starts, length, merged, np.sort(chrom_peaks.summit), rule)
    labels = labels.clip(0)
    site_hits_peak = overlap_bp(sites.starts, sites.ends, *merged) > 0
    peak_hit_by_site = overlap_bp(chrom_peaks.start, chrom_peaks.end, sites.starts, sites.ends) > 0
    return {"peaks": int(len(chrom_peaks)), "positive_windows": int(labels.sum()),
            "roc_auc": roc_auc(labels, scores), "pr_auc": average_precision(labels, scores),
            "site_precision": float(site_hits_peak.mean()) if len(site_hits_peak) else None,
            "site_recall": float(peak_hit_by_site.mean())}


def predict_step(model_dir: str | os.PathLike | Sequence[str | os.PathLike], model_name: str, fasta: str | os.PathLike, chrom: str,
                 out_dir: str | os.PathLike, *, threshold_file: str | os.PathLike,
                 peaks: Sequence[str | os.PathLike] = (), **options) -> dict:
    """The predict step from its files: :func:`predict_chromosome` with the calibrate step's
    ``threshold.json`` and the peaks given (none, one, or one per task; empty names skipped).

    ``options`` are :func:`predict_chromosome`'s keyword arguments.
    """
    threshold = read_threshold_file(threshold_file)
    peaks = [path for path in peaks if path]
    return predict_chromosome(model_dir, model_name, fasta, chrom, out_dir, threshold=threshold,
                              peaks=(peaks[0] if len(peaks) == 1 else peaks) or None, **options)
