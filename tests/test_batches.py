"""Batches of memory-mapped splits for Keras."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from conftest import TINY_LENGTH  # noqa: E402
from tfbinding.data.loader import load_dataset  # noqa: E402
from tfbinding.models.batches import SplitBatches  # noqa: E402


def test_augmentation_is_seeded_by_epoch_and_batch_not_call_order(tiny_dataset):
    data = load_dataset(tiny_dataset)
    one = SplitBatches(data.train, batch_size=64, shuffle=True, reverse_complement_half=True, seed=3)
    two = SplitBatches(data.train, batch_size=64, shuffle=True, reverse_complement_half=True, seed=3)
    later_first = [two[i][0] for i in (2, 1, 0)][::-1]
    for index, x in enumerate(later_first):
        np.testing.assert_array_equal(one[index][0], x)
    plain = SplitBatches(data.train, batch_size=64, shuffle=True, seed=3)
    assert any((one[i][0] != plain[i][0]).any() for i in range(3))  # some windows were flipped


def test_batches_cast_per_batch_and_keep_x_memory_mapped(tiny_dataset):
    data = load_dataset(tiny_dataset)
    assert isinstance(data.train["X"], np.memmap) and data.train["X"].dtype == np.uint8
    batches = SplitBatches(data.train, batch_size=64, weighted=True, shuffle=True, seed=1)
    x, y, w = batches[0]
    assert x.dtype == np.uint8 and x.shape == (64, TINY_LENGTH, 4) and w.shape == (64,)  # cast in the graph
    assert not np.shares_memory(x, data.train["X"])
    assert len(batches) == 7
    seen = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert seen.sum() == data.train["y"].sum()  # every window once per epoch
    assert len(SplitBatches(data.valid, batch_size=64, weighted=False)[0]) == 2
