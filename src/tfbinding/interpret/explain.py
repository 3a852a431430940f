"""The ``explain`` step: attributions of a model's selected windows, in ``attributions.npz``.

Window selection is :mod:`tfbinding.interpret.selection`'s, and the gradient and ISM
engine :mod:`tfbinding.interpret.attribution`'s, whose docstring describes the method and
the archive's arrays.

Fold ensembles
--------------
Given several model folders (the K fold models of ``split.folds``), the explained score is
the **mean of the members' logits**, ``z(x) = (1/K) Σ_k z_k(x)`` (each strand-averaged
where the model is). Integrated gradients, the hypothetical contributions and ISM are all
linear in the explained score, so each member is explained on the same windows, path and
steps, and the arrays are the mean of the members' (the attribution of the mean logit, to
float rounding). The ISM windows are the top ones by the ensemble's logit. The archive adds
``ensemble_size`` () int64, ``model_dirs`` (K,) str and ``member_logits`` (K, n) float32.
(``predict`` and ``score_variants`` average the members' probabilities instead; the logit
is what the attributions explain for one model too.)
"""
from __future__ import annotations

import logging
import os
import time
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import save_npz
from tfbinding.errors import InputError
from tfbinding.interpret.attribution import (
    METHOD,
    REFERENCE,
    REFERENCE_WITH_SIGNALS,
    TARGET,
    _ism_rows,
    explained_task,
    hypothetical_contributions,
    predict_logits,
    saturation_mutagenesis,
)
from tfbinding.interpret.selection import WindowSet, windows_from_bed, windows_from_dataset
from tfbinding.io.bigwig import SignalTracks, require_signals
from tfbinding.models.inference import load_ensemble, load_model, signal_channels

log = logging.getLogger(__name__)


def _model_dirs(model_dir) -> list:
    """One model folder, or several (a fold ensemble), as a list of folders."""
    if isinstance(model_dir, (str, os.PathLike)):
        return [model_dir]
    dirs = list(model_dir)
    if not dirs:
        raise InputError("no model folder given: give one, or the K fold models of one model")
    return dirs


def _load_members(model_dir, seed: int, threads: int | None) -> tuple[list, list]:
    """(models, folders): one model, or a fold ensemble's members (checked to agree)."""
    dirs = _model_dirs(model_dir)
    models = [load_model(dirs[0], seed=seed, threads=threads)] if len(dirs) == 1 else \
        load_ensemble(dirs, seed=seed, threads=threads)
    return models, dirs


def _members_task(models: Sequence, dirs: Sequence, task: str | int | None) -> tuple[int, str]:
    """The explained output of every member; members that name their tasks differently are refused."""
    chosen = {explained_task(model, folder, task) for model, folder in zip(models, dirs, strict=True)}
    if len(chosen) > 1:
        raise InputError(f"the ensemble's models name their tasks differently ({sorted(chosen)}): "
                         f"{', '.join(map(str, dirs))}. Give the folds of one model")
    return chosen.pop()


def _name(dirs: Sequence) -> str:
    return str(dirs[0]) if len(dirs) == 1 else f"ensemble of {len(dirs)}: " + ", ".join(map(str, dirs))


def attribute(model_dir: str | os.PathLike | Sequence[str | os.PathLike], windows: WindowSet, out_npz: str | os.PathLike, *,
              rc_average: bool = False, steps: int = 32,
              ism_windows: int | Sequence[int] | None = None, batch_size: int = 4096,
              seed: int = 0, threads: int | None = None, task: str | int | None = None) -> dict:
    """Explain a model on some windows; write ``attributions.npz`` atomically.

    Parameters
    ----------
    model_dir : path or sequence of paths
        A model folder holding ``model.keras`` (or the ``.keras`` file itself); several
        (the K fold models of one model) are explained as one ensemble, the mean of their
        logits (module docstring).
    windows : WindowSet
        From :func:`windows_from_dataset` or :func:`windows_from_bed`; their length must
        be the model's input length, and a signal model's windows carry ``S``.
    out_npz : path
        Output, e.g. ``results/<name>/interpretation/<model>/attributions.npz``.
    rc_average : bool, default False
        Explain the mean of both strands' logits (True for the ``improved`` model).
    steps : int, default 32
        Integrated-gradients steps.
    ism_windows : int, sequence of int, or None, default None
        ISM for these windows: an int ``k`` takes the ``k`` highest-scoring windows, a
        sequence gives row numbers; None skips ISM.
    batch_size : int, default 4096
        Sequences per model call.
    seed, threads : int, int or None
        TensorFlow's seed and intra-op threads (:func:`tfbinding.models.inference.load_model`).
    task : str, int or None, default None
        The output explained: a multi-task model's task, by name (its ``training.json``)
        or index; required for such a model, left out for a single-task one.

    Returns
    -------
    dict
        A summary: windows, length, method, timings, completeness error.

    Notes
    -----
    ``attributions.npz`` (uncompressed; ``np.load(path)`` needs no pickle) holds:

    ``ids`` (n,) str; ``one_hot`` (n, L, 4) uint8; ``hypothetical`` (n, L, 4) float32;
    ``contributions`` (n, L, 4) float32 = hypothetical × one_hot; ``logits`` (n,)
    float32, the explained score; ``reference_logit`` () float32, its value at the
    reference; ``ism`` (k, L, 4) float32 and ``ism_index`` (k,) int64, the rows of the
    windows that have ISM (k = 0 without); ``method``, ``reference``, ``target``,
    ``source`` () str; ``rc_average`` () bool; ``steps`` () int64. A multi-task model's
    adds ``task`` () str and ``task_index`` () int64; a signal model's adds ``signals``
    (n, L, S) float32, the channels held fixed, and its ``reference_logit`` is (n,), one
    per window (the reference keeps each window's signal).
    """
    models, dirs = _load_members(model_dir, seed, threads)
    return _attribute(models, windows, out_npz, rc_average=rc_average, steps=steps, ism_windows=ism_windows,
                      batch_size=batch_size, dirs=dirs, task=_members_task(models, dirs, task))


def explain(model_dir: str | os.PathLike | Sequence[str | os.PathLike], out_npz: str | os.PathLike, *,
            dataset_dir: str | os.PathLike | None = None, bed: str | os.PathLike | None = None,
            fasta: str | os.PathLike | None = None, aliases: Mapping[str, str] | None = None,
            splits: Sequence[str] = ("test",), positives_only: bool = True,
            max_windows: int | None = None, rc_average: bool = False, steps: int = 32,
            ism_windows: int | Sequence[int] | None = None, batch_size: int = 4096,
            seed: int = 0, threads: int | None = None, task: str | int | None = None,
            signals: SignalTracks | None = None) -> dict:
    """The attribution step from plain paths: pick the windows, explain, write the npz.

    Give either ``dataset_dir`` (windows from :func:`windows_from_dataset`: by default the
    test positives, of ``task`` for a multi-task model, with their ``S.npy`` signal rows
    for a signal model) or ``bed`` and ``fasta`` (windows from :func:`windows_from_bed`,
    at the model's input length, with ``signals`` read over them for a signal model). The
    other parameters are those of :func:`windows_from_dataset` and :func:`attribute`;
    several ``model_dir`` folders are one fold ensemble (the mean of their logits). A
    dataset built with ``split.folds`` gives every part's windows, each once, whatever
    ``splits`` (:func:`windows_from_dataset`).

    Returns
    -------
    dict
        :func:`attribute`'s summary.

    Raises
    ------
    InputError
        Neither or both sources given, a BED without a FASTA, a multi-task model without
        ``task``, a signal model's BED regions without ``signals``, or any error of the
        window selection or of :func:`attribute`.
    """
    if (dataset_dir is None) == (bed is None):
        raise InputError("give either a dataset folder or a BED of regions to explain, not "
                         f"{'both' if bed is not None else 'neither'}")
    models, dirs = _load_members(model_dir, seed, threads)
    model = models[0]
    index, name = _members_task(models, dirs, task)
    if bed is not None:
        if fasta is None:
            raise InputError(f"{bed}: explaining BED regions needs the reference FASTA too")
        tracks = require_signals(model, signals, f"explaining {bed}")
        windows = windows_from_bed(bed, fasta, int(model.input_shape[1]), aliases, tracks)
    else:
        windows = windows_from_dataset(dataset_dir, splits, positives_only, max_windows, seed, index,
                                       signals=signal_channels(model) > 0)
    return _attribute(models, windows, out_npz, rc_average=rc_average, steps=steps,
                      ism_windows=ism_windows, batch_size=batch_size, dirs=dirs,
                      task=(index, name))


def _attribute(models: Sequence, windows: WindowSet, out_npz: str | os.PathLike, *, rc_average: bool,
               steps: int, ism_windows: int | Sequence[int] | None, batch_size: int,
               dirs: Sequence, task: tuple[int, str] = (0, "")) -> dict:
    """Explain one model, or the mean logit of several (each member's arrays averaged)."""
    model = models[0]
    name = _name(dirs)
    length = model.input_shape[1]
    if windows.X.ndim != 3 or windows.X.shape[2] != 4:
        raise InputError(f"windows must be one-hot (n, L, 4), not of shape {windows.X.shape}")
    if length is not None and windows.X.shape[1] != length:
        raise InputError(f"{name}: the model reads {length}-bp windows, but the windows "
                         f"are {windows.X.shape[1]} bp. Use windows of the model's input length")
    given = 0 if windows.S is None else windows.S.shape[-1]
    if given != signal_channels(model) or (given and windows.S.shape[:2] != windows.X.shape[:2]):
        raise InputError(f"{name}: the model reads {signal_channels(model)} signal channel(s) after A, C, G, "
                         f"T; the windows carry {given}"
                         + (f" of shape {windows.S.shape}" if given else "")
                         + ". Give the windows the signal rows the model was trained with")
    index, task_name = task
    S = None if windows.S is None else np.ascontiguousarray(windows.S, dtype=np.float32)
    started = time.perf_counter()
    X = np.ascontiguousarray(windows.X, dtype=np.uint8)
    reference = np.full((1 if S is None else len(X),) + X.shape[1:], 0.25, np.float32)
    member_logits = np.stack([predict_logits(member, X, rc_average, batch_size, index, S)
                              for member in models])
    logits = _mean(member_logits)
    hypothetical = _mean([hypothetical_contributions(member, X, rc_average, steps, batch_size, index, S)
                          for member in models])
    contributions = hypothetical * X
    reference_logit = _mean([predict_logits(member, reference, rc_average, batch_size, index, S)
                             for member in models])
    reference_logit = np.float32(reference_logit[0]) if S is None else reference_logit
    ig_seconds = time.perf_counter() - started
    rows = _ism_rows(ism_windows, logits)
    started = time.perf_counter()
    ism = _mean([saturation_mutagenesis(member, X[rows], rc_average, batch_size, index,
                                        None if S is None else S[rows])
                 for member in models])
    ism_seconds = time.perf_counter() - started
    gap = np.abs(contributions.sum(axis=(1, 2)) - (logits - reference_logit))
    complete = X.any(axis=2).all(axis=1)  # windows without N rows
    reference_text = REFERENCE if S is None else REFERENCE_WITH_SIGNALS
    extra = {} if S is None else {"signals": S}
    if task_name:
        extra.update(task=np.str_(task_name), task_index=np.int64(index))
    if len(models) > 1:
        extra.update(ensemble_size=np.int64(len(models)), model_dirs=np.array([str(d) for d in dirs]),
                     member_logits=member_logits)
    save_npz(out_npz, ids=windows.ids.astype(str), one_hot=X, hypothetical=hypothetical,
             contributions=contributions, logits=logits,
             reference_logit=reference_logit, ism=ism, ism_index=rows,
             method=np.str_(METHOD), reference=np.str_(reference_text), target=np.str_(TARGET),
             source=np.str_(windows.source), rc_average=np.bool_(rc_average), steps=np.int64(steps),
             **extra)
    summary = {
        "windows": int(len(X)), "length": int(X.shape[1]), "method": METHOD, "reference": reference_text,
        "target": TARGET, "rc_average": bool(rc_average), "steps": int(steps),
        "ism_windows": int(len(rows)), "attribution_seconds": round(ig_seconds, 3),
        "ism_seconds": round(ism_seconds, 3),
        "completeness_median_abs_error": float(np.median(gap[complete])) if complete.any() else None,
        "source": windows.source, "model": name,
    }
    if task_name:
        summary["task"] = task_name
    if len(models) > 1:
        summary.update(ensemble_size=len(models), ensemble="mean of the members' logits",
                       model_dirs=[str(d) for d in dirs])
    if S is not None:
        summary["signal_channels"] = int(S.shape[-1])
    log.info("explained %d windows (%d bp)%s%s in %.1f s; ISM of %d in %.1f s", len(X), X.shape[1],
             f" for task {task_name}" if task_name else "",
             f" with an ensemble of {len(models)} models (mean logit)" if len(models) > 1 else "",
             ig_seconds, len(rows), ism_seconds)
    return summary


def _mean(arrays) -> np.ndarray:
    """The members' mean, float32; one member's array is returned as it is (bit for bit)."""
    if len(arrays) == 1:
        return arrays[0]
    return np.mean(np.stack(arrays), axis=0, dtype=np.float64).astype(np.float32)
