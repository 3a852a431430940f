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


def _imbalanced(n=4000, positives=16, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 1), np.float32)
    y[rng.choice(n, positives, replace=False)] = 1
    w = np.where(y == 1, n / (2 * positives), n / (2 * (n - positives))).astype(np.float32)
    return {"X": rng.integers(0, 2, (n, 20, 4), dtype=np.uint8), "y": y, "w": w}


@pytest.mark.parametrize("weighted", [True, False])
def test_balanced_batches_hold_the_share_and_keep_the_objective_unbiased(weighted):
    from tfbinding.models.batches import ResampledBatches

    split = _imbalanced()
    batches = ResampledBatches(split, batch_size=100, weighted=weighted, positive_share=0.25, steps=40, seed=1)
    assert len(batches) == 40
    totals = np.zeros(2)
    for index in range(len(batches)):
        _, y, w = batches[index]
        assert int(y.sum()) == 25                                   # the share, in every batch
        totals += [w[y[:, 0] == 1].sum(), w[y[:, 0] == 0].sum()]
    # the batches' weight per class equals the class's weight in the objective on the split
    target = (np.array([split["w"][split["y"] == 1].sum(), split["w"][split["y"] == 0].sum()]) if weighted
              else np.array([16.0, 3984.0]))
    np.testing.assert_allclose(totals / totals.sum(), target / target.sum(), rtol=1e-6)


def test_balanced_batches_walk_all_negatives_before_repeating_and_are_seeded():
    from tfbinding.models.batches import ResampledBatches

    split = _imbalanced(n=1016, positives=16)
    batches = ResampledBatches(split, batch_size=100, positive_share=0.2, steps=5, seed=2)
    seen = []
    for _ in range(2):                                   # two epochs of 5 x 80 negatives < 1000
        seen += [rows for rows in (batches._rows(i) for i in range(5))]
        batches.on_epoch_end()
    negatives = np.concatenate([rows[split["y"][rows, 0] == 0] for rows in seen])
    assert len(negatives) == 800 and len(np.unique(negatives)) == 800
    again = ResampledBatches(split, batch_size=100, positive_share=0.2, steps=5, seed=2)
    np.testing.assert_array_equal(again._rows(3), seen[3])


def test_downsampling_keeps_every_positive_and_fresh_negatives_each_epoch():
    from tfbinding.models.batches import ResampledBatches

    split = _imbalanced()
    batches = ResampledBatches(split, batch_size=50, positive_share=0.25, mode="downsample", seed=0)
    first = np.sort(batches.order)
    assert len(first) == 64 and split["y"][first, 0].sum() == 16
    batches.on_epoch_end()
    assert not np.array_equal(np.sort(batches.order), first) and split["y"][batches.order, 0].sum() == 16


def test_resampled_batches_refuse_a_multi_task_split():
    from tfbinding.models.batches import ResampledBatches

    split = _imbalanced()
    split["y"], split["w"] = np.hstack([split["y"]] * 2), np.hstack([split["w"]] * 2)
    with pytest.raises(ValueError, match="single-task"):
        ResampledBatches(split)


@pytest.mark.parametrize("kind", ["split", "balanced", "downsample"])
def test_the_tf_data_feed_yields_the_same_batches_epoch_after_epoch(kind):
    from tfbinding.models.batches import ResampledBatches, batch_dataset

    split = _imbalanced(n=1000, positives=40)
    batches = {"split": lambda: SplitBatches(split, batch_size=96, shuffle=True, reverse_complement_half=True,
                                             seed=4),
               "balanced": lambda: ResampledBatches(split, batch_size=100, steps=9, seed=4),
               "downsample": lambda: ResampledBatches(split, batch_size=30, mode="downsample", seed=4)}[kind]()
    fed = list(batch_dataset(batches, chunk_batches=4).take(3 * len(batches)).as_numpy_iterator())
    reference = {"split": lambda: SplitBatches(split, batch_size=96, shuffle=True, reverse_complement_half=True,
                                               seed=4),
                 "balanced": lambda: ResampledBatches(split, batch_size=100, steps=9, seed=4),
                 "downsample": lambda: ResampledBatches(split, batch_size=30, mode="downsample", seed=4)}[kind]()
    expected = []
    for _ in range(3):  # the PyDataset interface: batches[i], then on_epoch_end
        expected += [reference[i] for i in range(len(reference))]
        reference.on_epoch_end()
    assert len(fed) == len(expected)
    for got, want in zip(fed, expected):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    chunk = batches.chunk(1, 2, 3)  # one gather for several batches: their concatenation
    for a, *parts in zip(chunk, *(batches.batch(1, i) for i in (2, 3, 4))):
        np.testing.assert_array_equal(a, np.concatenate(parts))


def test_batches_read_with_pread_equal_those_read_through_the_map(tiny_dataset, monkeypatch):
    """A split over MAP_BELOW_BYTES is read with pread: the same batches."""
    import tfbinding.io.npy as npy

    data = load_dataset(tiny_dataset)
    through_map = SplitBatches(data.train, batch_size=64, shuffle=True, seed=1, reverse_complement_half=True)
    expected = [through_map.chunk(0, 0, 3), through_map.chunk(1, 1, 2)]
    monkeypatch.setattr(npy, "MAP_BELOW_BYTES", 0)
    pread = SplitBatches(data.train, batch_size=64, shuffle=True, seed=1, reverse_complement_half=True)
    for want, got in zip(expected, [pread.chunk(0, 0, 3), pread.chunk(1, 1, 2)]):
        for a, b in zip(want, got):
            np.testing.assert_array_equal(a, b)
