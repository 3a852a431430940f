"""Feed memory-mapped ``.npy`` splits to Keras in batches, cast to float32 per batch.

X stays a uint8 memory map on disk: only the rows of the next few batches are read,
handed to Keras as uint8 and cast to float32 by the model's input inside the graph, so
training never holds a float32 copy of X (4x the size of the uint8 file), and a quarter
of the bytes cross from Python into TensorFlow.

A batch is a pure function of ``(epoch, index)`` and the seed: :class:`SplitBatches` and
:class:`ResampledBatches` define the batches, and :func:`batch_dataset` feeds them to
``model.fit`` as a ``tf.data`` pipeline that reads several batches per Python call (one
memory-map gather, one crossing into TensorFlow) and cuts them apart in the graph. The
batches are the same as those of the classes' own ``keras.utils.PyDataset`` interface
(``batches[index]``, ``on_epoch_end``), which pays a fixed cost of about 2 ms per batch.

The rows are read with ``pread`` (:func:`tfbinding.io.npy.read_rows`), not through the
memory map, so that none of X's pages are mapped into the process: a split larger than
RAM trains with a bounded resident set.

Multi-task splits (y and w of shape ``(n, T)``, T > 1) yield ``(x, [y | w])``: the masked
loss and metrics of :mod:`tfbinding.models.architectures` read the weights from the packed targets, and
an unweighted model gets the mask ``w > 0`` in their place. A split with signal channels
(``"S"``, ``(n, L, S)`` float32) yields ``x`` as float32 ``(n, L, 4 + S)``, the signal
channels after A, C, G, T; reverse-complement augmentation reverses them along the length
only.
"""
from __future__ import annotations

import math
import threading

import keras
import numpy as np

from tfbinding.io.npy import read_rows
from tfbinding.models.architectures import pack_targets
from tfbinding.models.inference import reverse_complement, with_signals

#: batches gathered per Python call by :func:`batch_dataset`
CHUNK_BATCHES = 16
def _index_dtype(n: int):
    return np.int32 if n < 2**31 else np.int64


class SplitBatches(keras.utils.PyDataset):
    """Batches of one split: ``(x, y)`` or ``(x, y, w)``.

    Parameters
    ----------
    arrays : mapping with ``"X"`` (uint8, n×L×4), ``"y"`` and ``"w"`` (n×T), memory-mapped,
        and optionally ``"S"`` (float32, n×L×S).
    batch_size : windows per batch (default 1000, as in the study).
    weighted : yield the sample weights ``w`` (default True).
    shuffle : reshuffle the windows each epoch with ``seed`` (default False).
    reverse_complement_half : replace a random half of each batch by its reverse
        complement (augmentation; default False).
    seed : seed of the shuffles and of the augmentation (default 0).
    """

    def __init__(self, arrays, batch_size: int = 1000, weighted: bool = True, shuffle: bool = False,
                 reverse_complement_half: bool = False, seed: int = 0):
        # two worker threads: the next batches load while the current one trains
        super().__init__(workers=2, use_multiprocessing=False, max_queue_size=8)
        self.X, self.y, self.w = arrays["X"], arrays["y"], arrays["w"]
        self.S = arrays.get("S") if hasattr(arrays, "get") else None
        self.tasks = int(self.y.shape[1]) if self.y.ndim == 2 else 1
        self.batch_size = batch_size
        self.weighted = weighted
        self.shuffle = shuffle
        self.augment = reverse_complement_half
        self.seed = seed
        self.resampled = False
        self._lock = threading.Lock()
        self._plans: dict[int, object] = {}
        self.epoch = -1
        self.on_epoch_end()

    # ---- the batches as a function of (epoch, index)
    def _plan(self, epoch: int):
        """The epoch's row order (cached for the last few epochs; thread-safe)."""
        with self._lock:
            plan = self._plans.get(epoch)
            if plan is None:
                plan = self._plans[epoch] = self._make_plan(epoch)
                for old in sorted(self._plans)[:-3]:
                    del self._plans[old]
            return plan

    def _make_plan(self, epoch: int):
        n = len(self.y)
        if not self.shuffle:
            return np.arange(n, dtype=_index_dtype(n))
        return np.random.default_rng([self.seed, epoch]).permutation(n).astype(_index_dtype(n))

    @property
    def order(self) -> np.ndarray:
        """The windows of the current epoch, in batch order."""
        return self._plan(self.epoch)

    def _epoch_rows(self) -> int:
        return len(self.y)

    def __len__(self) -> int:
        return math.ceil(self._epoch_rows() / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def rows(self, epoch: int, index: int) -> np.ndarray:
        """The (sorted) rows of batch ``index`` of ``epoch``."""
        order = self._plan(epoch)
        return np.sort(order[index * self.batch_size:(index + 1) * self.batch_size])

    def _rows(self, index: int) -> np.ndarray:
        return self.rows(self.epoch, index)

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.w[rows], dtype=np.float32)

    def _read_x(self, rows: np.ndarray) -> np.ndarray:
        return read_rows(self.X, rows)  # uint8; the model's float32 input casts it inside the graph

    def chunk(self, epoch: int, first: int, count: int) -> tuple[np.ndarray, ...]:
        """Batches ``first .. first + count - 1`` of ``epoch``, concatenated along the rows:
        one gather from the memory map for all of them.
        """
        count = max(0, min(count, len(self) - first))
        parts = [self.rows(epoch, index) for index in range(first, first + count)]
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        x = self._read_x(rows)
        if self.S is not None:
            x = with_signals(x, read_rows(self.S, rows))
        if self.augment:
            # seeded by (epoch, batch), not by call order: batches may load out of order
            flip = np.concatenate([np.random.default_rng([self.seed, epoch, index]).random(len(part)) < 0.5
                                   for index, part in zip(range(first, first + count), parts)])
            x[flip] = reverse_complement(x[flip])
        y = np.asarray(self.y[rows], dtype=np.float32)
        if self.tasks > 1:
            w = self._weights(rows)
            return x, pack_targets(y, w if self.weighted else (w > 0).astype(np.float32))
        if self.weighted or self.resampled:
            return x, y, self._weights(rows).reshape(-1)
        return x, y

    def batch(self, epoch: int, index: int) -> tuple[np.ndarray, ...]:
        """Batch ``index`` of ``epoch``: ``(x, y)``, ``(x, y, w)`` or ``(x, [y | w])``."""
        return self.chunk(epoch, index, 1)

    def __getitem__(self, index: int):
        return self.batch(self.epoch, index)


class ResampledBatches(SplitBatches):
    """Batches that hold a fixed share of positives, with weights that keep the loss unbiased.

    At 0.4% positives a batch of 250 holds one positive on average, and the balancing
    weight (about 125) makes each step's gradient hinge on it: the study's models then do
    not learn. Here each batch draws ``positive_share`` of its rows from the positives
    and the rest from the negatives, and every row's weight is its objective weight ``w``
    (the split's balancing weight, or 1 for an unweighted model) times its class's share
    of the split over its share of the batch, so that the expected batch loss equals the
    objective's on the whole split.

    Parameters
    ----------
    arrays, batch_size, weighted, reverse_complement_half, seed : as
        :class:`SplitBatches` (single-task splits only).
    positive_share : float, default 0.25
        Share of each batch's rows that are positives.
    steps : int, default 200
        Batches per epoch.
    mode : {"balanced_batches", "downsample"}, default "balanced_batches"
        ``balanced_batches``: every batch holds the share; positives cycle in a fresh
        order, negatives in one pass over a shuffled order that continues across epochs.
        ``downsample``: each epoch holds every positive and a fresh random draw of
        negatives at the share, shuffled together (``steps`` is ignored).
    """

    def __init__(self, arrays, batch_size: int = 250, weighted: bool = True, positive_share: float = 0.25,
                 steps: int = 200, mode: str = "balanced_batches", reverse_complement_half: bool = False,
                 seed: int = 0):
        y = np.asarray(arrays["y"])
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError("resampled batches are single-task: train a multi-task split with imbalance: weights")
        labels = y.reshape(-1) > 0.5
        index = _index_dtype(len(labels))
        self.positives, self.negatives = np.flatnonzero(labels).astype(index), np.flatnonzero(~labels).astype(index)
        if not len(self.positives) or not len(self.negatives):
            raise ValueError("resampled batches need positives and negatives in the train split")
        self.mode, self.share, self.steps = mode, float(positive_share), max(1, int(steps))
        self.n_positive = min(batch_size - 1, max(1, int(round(batch_size * self.share))))
        self.n_wanted = int(round(len(self.positives) * (1 - self.share) / self.share))
        # negatives' order and cursor after the last epoch planned in sequence
        self._walk: tuple[int, np.ndarray | None, int] = (-1, None, 0)
        super().__init__(arrays, batch_size, weighted=weighted, shuffle=True,
                         reverse_complement_half=reverse_complement_half, seed=seed)
        self.resampled = True
        w = np.asarray(arrays["w"], dtype=np.float64).reshape(-1) if weighted else np.ones(len(labels))
        # objective weight x (class share of the split / class share of the batches)
        shares = (self.share, 1 - self.share) if mode == "balanced_batches" else self._epoch_shares()
        split_share = (len(self.positives) / len(labels), len(self.negatives) / len(labels))
        self.row_weight = np.where(labels, w * split_share[0] / shares[0],
                                   w * split_share[1] / shares[1]).astype(np.float32)

    def _epoch_rows(self) -> int:
        return len(self.positives) + min(len(self.negatives), self.n_wanted)

    def _epoch_shares(self) -> tuple[float, float]:
        positives = len(self.positives)
        return positives / self._epoch_rows(), 1 - positives / self._epoch_rows()

    def __len__(self) -> int:
        if self.mode == "downsample":
            return math.ceil(self._epoch_rows() / self.batch_size)
        return self.steps

    def _make_plan(self, epoch: int):
        if self.mode == "downsample":
            rng = np.random.default_rng([self.seed, epoch])
            kept = rng.choice(self.negatives, min(len(self.negatives), self.n_wanted), replace=False)
            return rng.permutation(np.concatenate((self.positives, kept)))
        # the negatives continue across epochs: plan the epochs in sequence (the caller
        # holds the lock); an epoch before the last planned one starts over from epoch 0
        last, negative_order, cursor = self._walk
        if epoch <= last:
            last, negative_order, cursor = -1, None, 0
        for step in range(last + 1, epoch + 1):
            positive_order, negative_order, cursor = self._advance(step, negative_order, cursor)
        self._walk = (epoch, negative_order, cursor)
        return positive_order, negative_order, cursor

    def _advance(self, epoch: int, negative_order, cursor: int):
        rng = np.random.default_rng([self.seed, epoch])
        n_negative = self.batch_size - self.n_positive
        cycles = math.ceil(self.steps * self.n_positive / len(self.positives))
        positive_order = np.concatenate([rng.permutation(self.positives) for _ in range(cycles)])
        # negatives: one pass over a shuffled order, continued across epochs
        needed = self.steps * n_negative
        cursor = cursor + needed if epoch > 0 else 0
        if epoch == 0 or cursor + needed > len(negative_order):
            negative_order = np.concatenate([rng.permutation(self.negatives) for _ in range(
                math.ceil(needed / len(self.negatives)) + 1)])
            cursor = 0
        return positive_order, negative_order, cursor

    @property
    def order(self) -> np.ndarray:
        if self.mode == "downsample":
            return self._plan(self.epoch)
        positive_order, negative_order, cursor = self._plan(self.epoch)
        n_negative = self.batch_size - self.n_positive
        return np.concatenate((positive_order[:self.steps * self.n_positive],
                               negative_order[cursor:cursor + self.steps * n_negative]))

    def rows(self, epoch: int, index: int) -> np.ndarray:
        if self.mode == "downsample":
            return super().rows(epoch, index)
        positive_order, negative_order, cursor = self._plan(epoch)
        n_negative = self.batch_size - self.n_positive
        start = cursor + index * n_negative
        return np.sort(np.concatenate((positive_order[index * self.n_positive:(index + 1) * self.n_positive],
                                       negative_order[start:start + n_negative])))

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        return self.row_weight[rows]


def batch_dataset(batches: SplitBatches, chunk_batches: int = CHUNK_BATCHES, repeat: bool = True,
                  first_epoch: int = 0):
    """``batches`` as a ``tf.data.Dataset`` for ``model.fit``/``evaluate``: the same batches
    as ``batches[index]`` epoch after epoch, read ``chunk_batches`` at a time by one Python
    call (two calls in flight, in order) and cut apart in the graph.

    With ``repeat`` (training) the dataset runs through epoch ``first_epoch``, the next,
    ... without end: pass ``steps_per_epoch=len(batches)`` to ``fit``. Without, it is one
    pass over epoch ``first_epoch`` (validation and evaluation, unshuffled).
    """
    import tensorflow as tf

    steps, size = len(batches), batches.batch_size
    chunks = math.ceil(steps / chunk_batches)
    sample = batches.batch(0, 0)
    dtypes = [tf.as_dtype(a.dtype) for a in sample]
    shapes = [(None, *a.shape[1:]) for a in sample]

    def load(position):
        epoch, chunk = divmod(int(position), chunks)
        return batches.chunk(epoch, chunk * chunk_batches, chunk_batches)

    def fetch(position):
        # stateless: a chunk is a pure function of its position (and the seed)
        arrays = tf.numpy_function(load, [position], dtypes, stateful=False)
        return tuple(tf.ensure_shape(a, shape) for a, shape in zip(arrays, shapes))

    def split(*arrays):
        rows = tf.shape(arrays[0], out_type=tf.int64)[0]
        return tf.data.Dataset.range((rows + size - 1) // size).map(
            lambda j: tuple(a[j * size:(j + 1) * size] for a in arrays))

    start = first_epoch * chunks
    positions = (tf.data.Dataset.counter(start) if repeat
                 else tf.data.Dataset.range(start, start + chunks))
    dataset = positions.map(fetch, num_parallel_calls=2, deterministic=True).flat_map(split)
    if not repeat:  # a known length: Keras then expects the end of the pass
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    return dataset.prefetch(chunk_batches)
