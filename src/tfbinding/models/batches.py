"""Feed memory-mapped ``.npy`` splits to Keras in batches, cast to float32 per batch.

X stays a uint8 memory map on disk: only one batch at a time is read, handed to Keras as
uint8 and cast to float32 by the model's input inside the graph, so training never holds
a float32 copy of X (4x the size of the uint8 file), and a quarter of the bytes cross
from Python into TensorFlow.

Multi-task splits (y and w of shape ``(n, T)``, T > 1) yield ``(x, [y | w])``: the masked
loss and metrics of :mod:`tfbinding.models.architectures` read the weights from the packed targets, and
an unweighted model gets the mask ``w > 0`` in their place. A split with signal channels
(``"S"``, ``(n, L, S)`` float32) yields ``x`` as float32 ``(n, L, 4 + S)``, the signal
channels after A, C, G, T; reverse-complement augmentation reverses them along the length
only.
"""
from __future__ import annotations

import math

import keras
import numpy as np

from tfbinding.models.architectures import pack_targets
from tfbinding.models.inference import reverse_complement, with_signals


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
        self.epoch = -1
        self.order = np.arange(len(self.y))
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.y))

    def _rows(self, index: int) -> np.ndarray:
        return np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.w[rows], dtype=np.float32)

    def __getitem__(self, index: int):
        rows = self._rows(index)
        x = self.X[rows]  # uint8; the model's float32 input casts it inside the graph
        if self.S is not None:
            x = with_signals(x, self.S[rows])
        if self.augment:
            # seeded by (epoch, batch), not by call order: worker threads may run out of order
            flip = np.random.default_rng([self.seed, self.epoch, index]).random(len(rows)) < 0.5
            x[flip] = reverse_complement(x[flip])
        y = np.asarray(self.y[rows], dtype=np.float32)
        if self.tasks > 1:
            w = self._weights(rows)
            return x, pack_targets(y, w if self.weighted else (w > 0).astype(np.float32))
        if self.weighted or self.resampled:
            return x, y, self._weights(rows).reshape(-1)
        return x, y


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
    arrays, batch_size, weighted, reverse_complement_half, seed : as :class:`SplitBatches`
        (single-task splits only).
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
        self.positives, self.negatives = np.flatnonzero(labels), np.flatnonzero(~labels)
        if not len(self.positives) or not len(self.negatives):
            raise ValueError("resampled batches need positives and negatives in the train split")
        self.mode, self.share, self.steps = mode, float(positive_share), max(1, int(steps))
        self.n_positive = min(batch_size - 1, max(1, int(round(batch_size * self.share))))
        self.negative_cursor = 0
        super().__init__(arrays, batch_size, weighted=weighted, shuffle=True,
                         reverse_complement_half=reverse_complement_half, seed=seed)
        self.resampled = True
        w = np.asarray(arrays["w"], dtype=np.float64).reshape(-1) if weighted else np.ones(len(labels))
        # objective weight x (class share of the split / class share of the batches)
        shares = (self.share, 1 - self.share) if mode == "balanced_batches" else self._epoch_shares()
        split_share = (len(self.positives) / len(labels), len(self.negatives) / len(labels))
        self.row_weight = np.where(labels, w * split_share[0] / shares[0], w * split_share[1] / shares[1])

    def _epoch_shares(self) -> tuple[float, float]:
        positives = len(self.positives)
        return positives / len(self.order), 1 - positives / len(self.order)

    def __len__(self) -> int:
        if self.mode == "downsample":
            return math.ceil(len(self.order) / self.batch_size)
        return self.steps

    def on_epoch_end(self) -> None:
        self.epoch += 1
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.mode == "downsample":
            wanted = int(round(len(self.positives) * (1 - self.share) / self.share))
            kept = rng.choice(self.negatives, min(len(self.negatives), wanted), replace=False)
            self.order = rng.permutation(np.concatenate((self.positives, kept)))
            return
        n_negative = self.batch_size - self.n_positive
        cycles = math.ceil(self.steps * self.n_positive / len(self.positives))
        self.positive_order = np.concatenate([rng.permutation(self.positives) for _ in range(cycles)])
        # negatives: one pass over a shuffled order, continued across epochs
        needed = self.steps * n_negative
        cursor = self.negative_cursor + needed if self.epoch > 0 else 0
        if self.epoch == 0 or cursor + needed > len(self.negative_order):
            self.negative_order = np.concatenate([rng.permutation(self.negatives) for _ in range(
                math.ceil(needed / len(self.negatives)) + 1)])
            cursor = 0
        self.negative_cursor = cursor

    def _rows(self, index: int) -> np.ndarray:
        if self.mode == "downsample":
            return super()._rows(index)
        n_negative = self.batch_size - self.n_positive
        start = self.negative_cursor + index * n_negative
        return np.sort(np.concatenate((self.positive_order[index * self.n_positive:(index + 1) * self.n_positive],
                                       self.negative_order[start:start + n_negative])))

    def _weights(self, rows: np.ndarray) -> np.ndarray:
        return self.row_weight[rows].astype(np.float32)
