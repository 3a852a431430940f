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
        self.epoch = -1
        self.order = np.arange(len(self.y))
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.y))

    def __getitem__(self, index: int):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        x = self.X[rows]  # uint8; the model's float32 input casts it inside the graph
        if self.S is not None:
            x = with_signals(x, self.S[rows])
        if self.augment:
            # seeded by (epoch, batch), not by call order: worker threads may run out of order
            flip = np.random.default_rng([self.seed, self.epoch, index]).random(len(rows)) < 0.5
            x[flip] = reverse_complement(x[flip])
        y = np.asarray(self.y[rows], dtype=np.float32)
        if self.tasks > 1:
            w = np.asarray(self.w[rows], dtype=np.float32)
            return x, pack_targets(y, w if self.weighted else (w > 0).astype(np.float32))
        if self.weighted:
            return x, y, np.asarray(self.w[rows], dtype=np.float32).reshape(-1)
        return x, y
