"""Per-base attributions of a trained model: integrated gradients (with the hypothetical
contributions TF-MoDISco reads) and in-silico saturation mutagenesis (ISM).

What is explained
-----------------
The model's **logit** (its output before the final sigmoid), so that confident windows
keep informative gradients. Where the model predicts reverse-complement-averaged
(``improved``), the explained score is the mean of the two strands' logits,
``(z(x) + z(rc(x))) / 2``, and every array below is in the forward strand's frame.

Method: integrated gradients against a uniform reference
--------------------------------------------------------
``shap.DeepExplainer`` (DeepLIFT/SHAP, shap 0.51) runs on the study's CNN
(Conv1D → Flatten → Dense) under Keras 3, but fails on the ``improved`` model: its
handler for max pooling (``MaxPooling1D``, ``GlobalMaxPooling1D``) builds tensors of
mismatched shapes. It also gives no hypothetical contributions (upstream shap has no
``combine_mult_and_diffref``), and it patches TensorFlow's gradient registry. So one
method serves every model: integrated gradients (IG; Sundararajan et al. 2017) along the
straight path from the reference ``r`` (every row 0.25, 0.25, 0.25, 0.25: no base
preferred, GC-neutral, deterministic) to the window ``x``, with ``steps`` midpoint
(Riemann) steps:

    G[i, c] = mean over k of dz/dx[i, c] at r + (k + 0.5)/steps · (x − r)

The **hypothetical contribution** of base ``b`` at position ``i`` is what IG would give
that base had it been the one present: ``hyp[i, b] = G[i, b] − Σ_c G[i, c] · 0.25``,
i.e. the path-averaged gradient, mean-centred across the four bases. The **actual
contribution** is ``hyp × onehot``, exactly as TF-MoDISco computes it from the two
arrays; its sum over a window equals IG's, ``≈ z(x) − z(r)`` (completeness; N rows,
all-zero, get 0).

ISM
---
Every position set to each of the four bases in turn (all ``4·L`` single-base variants
of a window, batched), scored; ``ism[i, b] = z(x with base b at i) − z(x)``: the change
of the (strand-averaged) logit. The present base gives exactly 0; an N row gets the effect
of each base put there.

Multi-task and signal models
----------------------------
A multi-task model (T sigmoid outputs) is explained one task at a time: ``task`` picks the
output whose logit is explained, and the dataset's windows are that task's positives (its
unmasked labels). A signal model's input is the one-hot window with signal channels after
A, C, G, T. Only the sequence is explained: the path runs from the uniform reference to the
window over A, C, G, T while **the signal channels stay at their observed values** all
along it, so the reference is "uniform bases, this window's signal", the contributions sum
to ``z(x, s) − z(r, s)``, one ``reference_logit`` per window. ISM mutates the sequence only,
the signal kept; the reverse complement reverses the signals along the length only.

Windows
-------
:func:`windows_from_dataset` takes the positives of a built dataset's splits (the test
split by default); :func:`windows_from_bed` takes any BED of regions, each resized to the
model's full input length around its centre and encoded from the FASTA (a signal model's
bigWigs read over the same span). :func:`explain` (from paths) and :func:`attribute` (from
a :class:`WindowSet`) are the step's entry points; they write ``attributions.npz``.
"""
from __future__ import annotations

import collections
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .atomic import save_npz
from .errors import InputError
from .inference import load_model, select_tasks, signal_channels, task_names
from .onehot import centred_windows
from .signal_tracks import SignalTracks, require_signals

log = logging.getLogger(__name__)

METHOD = "integrated_gradients"
REFERENCE = "uniform 0.25 per base"
#: the reference of a signal model: the sequence's, with the window's own signal channels
REFERENCE_WITH_SIGNALS = "uniform 0.25 per base; signal channels at the window's observed values"
TARGET = "logit"
#: the splits of a built dataset, in order
DATASET_SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class WindowSet:
    """One-hot windows to explain, with their names.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n, L, 4)`` uint8, channels A, C, G, T; N is an all-zero row.
    ids : numpy.ndarray
        ``(n,)`` unicode ``chrom:start-end`` (0-based, half-open).
    source : str
        Where the windows came from, for the output's provenance.
    S : numpy.ndarray or None
        ``(n, L, S)`` float32 signal channels, row for row with ``X`` (a signal model's).
    """

    X: np.ndarray
    ids: np.ndarray
    source: str = ""
    S: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


# ---------------------------------------------------------------------------------------
# windows


def windows_from_dataset(dataset_dir: str | os.PathLike, splits: Sequence[str] = ("test",),
                         positives_only: bool = True, max_windows: int | None = None,
                         seed: int = 0, task: int = 0, signals: bool = False) -> WindowSet:
    """Windows of a built dataset: by default, the positives of the test split.

    Parameters
    ----------
    dataset_dir : path
        A dataset folder, ``<dataset>/{train,valid,test}/{X,y,ids}.npy`` (read as memory
        maps; only the chosen rows are read).
    splits : sequence of str, default ("test",)
        Which splits to take windows from, concatenated in this order.
    positives_only : bool, default True
        Keep only windows labelled 1.
    max_windows : int or None, default None
        Keep at most this many (a seeded random subset, kept in genome order).
    seed : int, default 0
        Seed of that subset.
    task : int, default 0
        The label column (task) whose positives are taken, for a multi-task dataset.
    signals : bool, default False
        Also read the rows' signal channels (``S.npy``), for a signal model.

    Returns
    -------
    WindowSet

    Raises
    ------
    InputError
        When a split's files are missing or of mismatched lengths, or no window is left.
    """
    root = Path(dataset_dir)
    chosen: list[tuple[dict, np.ndarray, np.ndarray]] = []  # ({X, S} memory maps, ids, rows)
    for split in splits:
        if split not in DATASET_SPLITS:
            raise InputError(f"unknown split {split!r}; choose from {', '.join(DATASET_SPLITS)}")
        folder = root / split
        try:
            arrays = {"X": np.load(folder / "X.npy", mmap_mode="r")}
            if signals:
                arrays["S"] = np.load(folder / "S.npy", mmap_mode="r")
            y = np.load(folder / "y.npy", mmap_mode="r")
            ids = np.load(folder / "ids.npy", mmap_mode="r")
        except FileNotFoundError as err:
            raise InputError(f"{folder}: no complete split here ({Path(err.filename).name} is "
                             "missing). Build the dataset first (with the model's signals, for a "
                             "signal model)") from err
        y = y.reshape(len(y), -1)
        if not task < y.shape[1]:
            raise InputError(f"{folder}: y has {y.shape[1]} task column(s), no task {task}. Explain "
                             "the model on the dataset it was trained on")
        if not len(arrays["X"]) == len(y) == len(ids) == len(arrays.get("S", ids)):
            raise InputError(f"{folder}: X, y, ids (and S) have different lengths "
                             f"({len(arrays['X'])}, {len(y)}, {len(ids)}). Rebuild the dataset")
        y = y[:, task]
        rows = np.flatnonzero(y > 0.5) if positives_only else np.arange(len(y))
        chosen.append((arrays, ids, rows))
    total = sum(len(rows) for _, _, rows in chosen)
    if max_windows is not None and total > max_windows:
        # a seeded subset over all splits, drawn before any window is read
        keep = np.zeros(total, dtype=bool)
        keep[np.random.default_rng(seed).choice(total, max_windows, replace=False)] = True
        bounds = np.cumsum([0] + [len(rows) for _, _, rows in chosen])
        chosen = [(arrays, ids, rows[keep[low:high]])
                  for (arrays, ids, rows), low, high in zip(chosen, bounds[:-1], bounds[1:], strict=True)]
    if not sum(len(rows) for _, _, rows in chosen):
        raise InputError(f"{root}: no {'positive ' if positives_only else ''}window in split(s) "
                         f"{', '.join(splits)}. Choose other splits")
    X = np.concatenate([np.asarray(arrays["X"][rows]) for arrays, _, rows in chosen])
    S = (np.concatenate([np.asarray(arrays["S"][rows], dtype=np.float32) for arrays, _, rows in chosen])
         if signals else None)
    ids = np.concatenate([np.asarray(ids[rows]).astype(str) for _, ids, rows in chosen])
    what = "positives" if positives_only else "windows"
    return WindowSet(X, ids, f"{root} ({what} of {', '.join(splits)})", S)


def windows_from_bed(bed: str | os.PathLike, fasta: str | os.PathLike, length: int,
                     aliases: Mapping[str, str] | None = None,
                     signals: SignalTracks | None = None) -> WindowSet:
    """Windows around the regions of a BED file, encoded from the FASTA.

    Each region ``[start, end)`` is resized to ``length`` bp (the model's full input,
    flanks included) around its centre ``c = (start + end) // 2``: the window is
    ``[c - length // 2, c - length // 2 + length)``, and bases beyond a chromosome's ends
    become all-zero rows. The ids name the regions as the BED gives them
    (``chrom:start-end``, 0-based, half-open), in the BED's order.

    Parameters
    ----------
    bed : path
        BED3+ or narrowPeak, plain or gzip (read strictly by
        :func:`tfbinding.bedio.read_intervals`).
    fasta : path
        A prepared, indexed FASTA (:func:`tfbinding.genome.prepare_fasta`).
    length : int
        Window length: the model's input length.
    aliases : mapping or None, default None
        Maps names used in the BED to the FASTA's (``{"22": "chr22"}``).
    signals : SignalTracks or None, default None
        A signal model's bigWigs, read over the same spans (``WindowSet.S``).

    Returns
    -------
    WindowSet

    Raises
    ------
    InputError
        Malformed BED lines, regions past a chromosome's end, no chromosome in common, a
        chromosome a bigWig lacks (unless ``signals.missing == "zero"``).
    """
    from .bedio import read_intervals
    from .genome import Genome
    from .ids import format_ids

    genome = Genome(fasta)
    regions = read_intervals(bed, genome.sizes, aliases, what="regions")
    if not len(regions):
        raise InputError(f"{bed}: no region to explain. Give a BED with at least one region")
    centres = (regions.start + regions.end) // 2
    X = np.zeros((len(regions), length, 4), dtype=np.uint8)
    S = np.zeros((len(regions), length, len(signals)), dtype=np.float32) if signals else None
    names = []
    for chrom in dict.fromkeys(regions.chrom.tolist()):
        rows = np.flatnonzero(regions.chrom == chrom)
        X[rows] = centred_windows(genome.sequence(chrom), centres[rows], length)
        if signals:
            with signals.open(chrom, genome.sizes[chrom]) as reader:
                S[rows] = reader.read(centres[rows] - length // 2, length)
        names.append((rows, format_ids(chrom, regions.start[rows], regions.end[rows])))
    ids = np.zeros(len(regions), dtype=f"<U{max(len(text[0]) for _, text in names) + 1}")
    for rows, text in names:
        ids[rows] = text
    return WindowSet(X, ids, f"{bed} (centred, {length} bp)", S)


# ---------------------------------------------------------------------------------------
# the explained score


def logit_function(model, task: int = 0) -> Callable:
    """A function mapping float32 model inputs ``(n, L, C)`` to the logits ``(n,)`` of
    output ``task`` (0 for a single-task model).

    The model's last layer must be a sigmoid: a ``Dense`` layer with ``sigmoid``
    activation (its pre-activation is recomputed from its kernel and bias) or an
    ``Activation("sigmoid")`` layer (its input is taken).

    Raises
    ------
    InputError
        When the last layer is neither.
    """
    import keras

    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if activation != "sigmoid":
        raise InputError(f"model {model.name!r}: its last layer ({last.name}) is no sigmoid, so its "
                         "logit cannot be found. Explain a binary classifier with a sigmoid output")
    body = keras.Model(model.inputs, last.input)
    outputs = int(model.output_shape[-1] or 1)
    if not 0 <= task < outputs:
        raise InputError(f"model {model.name!r} has {outputs} output(s), no task {task}")
    if isinstance(last, keras.layers.Dense):
        def logits(x):
            h = body(x, training=False)
            z = keras.ops.matmul(h, last.kernel)
            if last.use_bias:
                z = z + last.bias
            return z[:, task]
    else:
        def logits(x):
            return keras.ops.reshape(body(x, training=False), (-1, outputs))[:, task]
    return logits


def _rc_tf(x):
    """The reverse complement of model inputs: A, C, G, T reversed and complemented, any
    signal channels after them reversed along the length only (as
    :func:`tfbinding.inference.reverse_complement`)."""
    import tensorflow as tf

    channels = x.shape[-1]
    return tf.gather(x[:, ::-1], [3, 2, 1, 0, *range(4, channels)], axis=2)


class _Explainer:
    """Compiled forward and gradient functions of one model output (TensorFlow graphs)."""

    def __init__(self, model, rc_average: bool, task: int = 0):
        import tensorflow as tf

        logits = logit_function(model, task)
        self.rc_average = rc_average
        channels = int(model.input_shape[-1])

        def score(x):
            z = logits(x)
            if rc_average:
                z = (z + logits(_rc_tf(x))) / 2
            return z

        def gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(score(x))  # windows are independent: one backward pass
            return tape.gradient(total, x)[..., :4]  # the sequence's channels

        spec = tf.TensorSpec((None, None, channels), tf.float32)
        self.score = tf.function(score, input_signature=[spec])
        self.gradient = tf.function(gradient, input_signature=[spec])


#: the last few models' compiled functions: (id(model), rc_average, task) -> (model, explainer)
_EXPLAINERS: "collections.OrderedDict[tuple[int, bool, int], tuple[object, _Explainer]]" = \
    collections.OrderedDict()
_EXPLAINERS_KEPT = 4


def _explainer(model, rc_average: bool, task: int = 0) -> _Explainer:
    """The compiled functions of ``model``, built once per model, strand mode and task (the
    last :data:`_EXPLAINERS_KEPT` are kept, so TensorFlow traces each only once)."""
    key = (id(model), bool(rc_average), int(task))
    if key in _EXPLAINERS and _EXPLAINERS[key][0] is model:
        _EXPLAINERS.move_to_end(key)
        return _EXPLAINERS[key][1]
    explainer = _Explainer(model, rc_average, task)
    _EXPLAINERS[key] = (model, explainer)
    while len(_EXPLAINERS) > _EXPLAINERS_KEPT:
        _EXPLAINERS.popitem(last=False)
    return explainer


def _inputs(X: np.ndarray, S: np.ndarray | None) -> np.ndarray:
    """float32 model inputs: one-hot rows, with their signal channels after A, C, G, T."""
    from .inference import with_signals

    return with_signals(np.asarray(X, dtype=np.float32), S)


def predict_logits(model, X: np.ndarray, rc_average: bool = False, batch_size: int = 2048,
                   task: int = 0, signals: np.ndarray | None = None) -> np.ndarray:
    """The explained score of each window: the logit, strand-averaged when ``rc_average``.

    Parameters
    ----------
    model : keras.Model
        A binary classifier with a sigmoid output (or T of them).
    X : array (n, L, 4)
        One-hot windows (any numeric dtype; a memory map is read a batch at a time).
    rc_average : bool, default False
        Average the logits of each window and its reverse complement.
    batch_size : int, default 2048
    task : int, default 0
        The output explained (a multi-task model's task index).
    signals : array (n, L, S) or None, default None
        A signal model's signal channels, row for row with ``X``.

    Returns
    -------
    numpy.ndarray (n,) float32
    """
    explainer = _explainer(model, rc_average, task)
    out = np.empty(len(X), dtype=np.float32)
    for first in range(0, len(X), batch_size):
        part = slice(first, first + batch_size)
        block = _inputs(X[part], None if signals is None else signals[part])
        out[first:first + len(block)] = explainer.score(block).numpy()
    return out


def hypothetical_contributions(model, X: np.ndarray, rc_average: bool = False, steps: int = 32,
                               batch_size: int = 4096, task: int = 0,
                               signals: np.ndarray | None = None) -> np.ndarray:
    """Integrated-gradients hypothetical contributions against the uniform reference.

    Parameters
    ----------
    model : keras.Model
        A binary classifier with a sigmoid output; its logit is explained.
    X : array (n, L, 4)
        One-hot windows.
    rc_average : bool, default False
        Explain the mean of the forward and reverse-complement logits.
    steps : int, default 32
        Midpoint steps along the path from the reference to each window.
    batch_size : int, default 4096
        Sequences (windows × steps) per gradient call.
    task : int, default 0
        The output explained (a multi-task model's task index).
    signals : array (n, L, S) or None, default None
        A signal model's signal channels: held at these values along the whole path, so
        only the sequence is attributed.

    Returns
    -------
    numpy.ndarray (n, L, 4) float32
        ``hyp``: path-averaged gradients, mean-centred across the four bases. The actual
        contributions are ``hyp * X``.
    """
    import tensorflow as tf

    if steps < 1:
        raise InputError(f"steps must be at least 1, not {steps}")
    explainer = _explainer(model, rc_average, task)
    alphas = tf.constant((np.arange(steps, dtype=np.float32) + 0.5) / steps)[:, None, None, None]
    per_batch = max(1, batch_size // steps)
    out = np.empty(np.shape(X), dtype=np.float32)
    for first in range(0, len(X), per_batch):
        part = slice(first, first + per_batch)
        x = tf.constant(np.asarray(X[part], dtype=np.float32))
        path = 0.25 + alphas * (x[None] - 0.25)  # (steps, b, L, 4)
        if signals is not None:  # the window's own signal at every step
            held = tf.constant(np.asarray(signals[part], dtype=np.float32))
            path = tf.concat((path, tf.broadcast_to(held[None], (steps, *held.shape))), axis=-1)
        grads = explainer.gradient(tf.reshape(path, (-1, x.shape[1], path.shape[-1])))
        mean = tf.reduce_mean(tf.reshape(grads, (steps, *x.shape)), axis=0).numpy()
        out[first:first + len(mean)] = mean - mean.mean(axis=2, keepdims=True)
    return out


def saturation_mutagenesis(model, X: np.ndarray, rc_average: bool = False,
                           batch_size: int = 4096, task: int = 0,
                           signals: np.ndarray | None = None) -> np.ndarray:
    """In-silico saturation mutagenesis: the effect of every single-base substitution.

    Only real substitutions are scored (3 per ACGT position, 4 at an N), in batches of
    mutated copies gathered across windows.

    Parameters
    ----------
    model : keras.Model
        A binary classifier with a sigmoid output.
    X : array (n, L, 4)
        One-hot windows.
    rc_average : bool, default False
        Score the mean of the forward and reverse-complement logits.
    batch_size : int, default 4096
        Mutated sequences per model call.
    task : int, default 0
        The output scored (a multi-task model's task index).
    signals : array (n, L, S) or None, default None
        A signal model's signal channels: each mutant keeps its window's (only the
        sequence is mutated).

    Returns
    -------
    numpy.ndarray (n, L, 4) float32
        ``ism[w, i, b]``: logit of window ``w`` with base ``b`` at position ``i``, minus
        the window's own logit; 0 at the bases present.
    """
    explainer = _explainer(model, rc_average, task)
    X = np.asarray(X, dtype=np.uint8)
    out = np.zeros(X.shape, dtype=np.float32)
    if not len(X):
        return out
    reference = predict_logits(model, X, rc_average, batch_size, task, signals)
    per_chunk = max(1, 16 * batch_size // (3 * X.shape[1]))  # bounds the index arrays
    for first in range(0, len(X), per_chunk):
        window, position, base = np.nonzero(X[first:first + per_chunk] == 0)
        window += first
        for low in range(0, len(window), batch_size):
            w, i, b = (part[low:low + batch_size] for part in (window, position, base))
            mutants = X[w]  # a copy
            row = np.arange(len(w))
            mutants[row, i] = 0
            mutants[row, i, b] = 1
            scores = explainer.score(_inputs(mutants, None if signals is None else signals[w])).numpy()
            out[w, i, b] = scores - reference[w]
    return out


# ---------------------------------------------------------------------------------------
# the step


def _ism_rows(selection: int | Sequence[int] | None, logits: np.ndarray) -> np.ndarray:
    if selection is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(selection, (int, np.integer)):
        if selection < 0:
            raise InputError(f"ism_windows must be >= 0, not {selection}")
        # the windows the model scores highest, by a stable sort
        return np.sort(np.argsort(-logits, kind="stable")[:int(selection)]).astype(np.int64)
    rows = np.asarray(selection, dtype=np.int64).reshape(-1)
    bad = rows[(rows < 0) | (rows >= len(logits))]
    if bad.size:
        raise InputError(f"ism_windows: row {int(bad[0])} is not among the {len(logits)} windows")
    return rows


def attribute(model_dir: str | os.PathLike, windows: WindowSet, out_npz: str | os.PathLike, *,
              rc_average: bool = False, steps: int = 32,
              ism_windows: int | Sequence[int] | None = None, batch_size: int = 4096,
              seed: int = 0, threads: int | None = None, task: str | int | None = None) -> dict:
    """Explain a model on some windows; write ``attributions.npz`` atomically.

    Parameters
    ----------
    model_dir : path
        A model folder holding ``model.keras`` (or the ``.keras`` file itself).
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
        TensorFlow's seed and intra-op threads (:func:`tfbinding.inference.load_model`).
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
    model = load_model(model_dir, seed=seed, threads=threads)
    return _attribute(model, windows, out_npz, rc_average=rc_average, steps=steps, ism_windows=ism_windows,
                      batch_size=batch_size, name=str(model_dir), task=_one_task(model, model_dir, task))


def _one_task(model, model_dir, task: str | int | None) -> tuple[int, str]:
    """(index, name) of the explained output: a multi-task model needs ``task``."""
    names = task_names(model, model_dir)
    if task is None and len(names) > 1:
        raise InputError(f"{model_dir}: the model has {len(names)} tasks ({', '.join(names)}); "
                         "choose the one to explain (--task, interpret.tasks)")
    index = select_tasks(names, task)[0] if task is not None else 0
    return index, names[index]


def explain(model_dir: str | os.PathLike, out_npz: str | os.PathLike, *,
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
    other parameters are those of :func:`windows_from_dataset` and :func:`attribute`.

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
    model = load_model(model_dir, seed=seed, threads=threads)
    index, name = _one_task(model, model_dir, task)
    if bed is not None:
        if fasta is None:
            raise InputError(f"{bed}: explaining BED regions needs the reference FASTA too")
        tracks = require_signals(model, signals, f"explaining {bed}")
        windows = windows_from_bed(bed, fasta, int(model.input_shape[1]), aliases, tracks)
    else:
        windows = windows_from_dataset(dataset_dir, splits, positives_only, max_windows, seed, index,
                                       signals=signal_channels(model) > 0)
    return _attribute(model, windows, out_npz, rc_average=rc_average, steps=steps,
                      ism_windows=ism_windows, batch_size=batch_size, name=str(model_dir),
                      task=(index, name))


def _attribute(model, windows: WindowSet, out_npz: str | os.PathLike, *, rc_average: bool,
               steps: int, ism_windows: int | Sequence[int] | None, batch_size: int,
               name: str, task: tuple[int, str] = (0, "")) -> dict:
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
    logits = predict_logits(model, X, rc_average, batch_size, index, S)
    hypothetical = hypothetical_contributions(model, X, rc_average, steps, batch_size, index, S)
    contributions = hypothetical * X
    reference = np.full((1 if S is None else len(X),) + X.shape[1:], 0.25, np.float32)
    reference_logit = predict_logits(model, reference, rc_average, batch_size, index, S)
    reference_logit = np.float32(reference_logit[0]) if S is None else reference_logit
    ig_seconds = time.perf_counter() - started
    rows = _ism_rows(ism_windows, logits)
    started = time.perf_counter()
    ism = saturation_mutagenesis(model, X[rows], rc_average, batch_size, index,
                                 None if S is None else S[rows])
    ism_seconds = time.perf_counter() - started
    gap = np.abs(contributions.sum(axis=(1, 2)) - (logits - reference_logit))
    complete = X.any(axis=2).all(axis=1)  # windows without N rows
    reference_text = REFERENCE if S is None else REFERENCE_WITH_SIGNALS
    extra = {} if S is None else {"signals": S}
    if task_name:
        extra.update(task=np.str_(task_name), task_index=np.int64(index))
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
    if S is not None:
        summary["signal_channels"] = int(S.shape[-1])
    log.info("explained %d windows (%d bp)%s in %.1f s; ISM of %d in %.1f s", len(X), X.shape[1],
             f" for task {task_name}" if task_name else "", ig_seconds, len(rows), ism_seconds)
    return summary
