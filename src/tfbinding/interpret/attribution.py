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
from typing import Callable, Sequence

import numpy as np

from tfbinding.errors import InputError

log = logging.getLogger(__name__)

METHOD = "integrated_gradients"
REFERENCE = "uniform 0.25 per base"
#: the reference of a signal model: the sequence's, with the window's own signal channels
REFERENCE_WITH_SIGNALS = "uniform 0.25 per base; signal channels at the window's observed values"
TARGET = "logit"


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
    :func:`tfbinding.models.inference.reverse_complement`).
    """
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
    last :data:`_EXPLAINERS_KEPT` are kept, so TensorFlow traces each only once).
    """
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
    from tfbinding.models.inference import with_signals

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


def explained_task(model, model_dir, task: str | int | None) -> tuple[int, str]:
    """(index, name) of the explained output: a multi-task model needs ``task``."""
    from tfbinding.config import is_multi_task
    from tfbinding.models.inference import select_tasks, task_names

    names = task_names(model, model_dir)
    if task is None and is_multi_task(names):
        raise InputError(f"{model_dir}: the model has {len(names)} tasks ({', '.join(names)}); "
                         "choose the one to explain (--task, interpret.tasks)")
    index = select_tasks(names, task)[0] if task is not None else 0
    return index, names[index]
