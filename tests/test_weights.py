"""Tests for tfbinding.data.weights: class-balanced and uniform sample weights."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.data.weights import balanced_weights, uniform_weights


def test_balanced_weights_values_and_class_sums():
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0], dtype=np.float32)  # 2 positives, 6 negatives
    w = balanced_weights(labels)
    assert w.dtype == np.float32
    # n / (2 n_class): 8/4 = 2 for positives, 8/12 for negatives
    assert w[labels == 1].tolist() == [2.0, 2.0]
    assert np.allclose(w[labels == 0], 8 / 12)
    assert w[labels == 1].sum() == pytest.approx(4.0)
    assert w[labels == 0].sum() == pytest.approx(4.0)
    assert w.sum() == pytest.approx(len(labels))


def test_balanced_weights_accept_a_column_vector():
    labels = np.array([[0], [1], [1]], dtype=np.float32)
    w = balanced_weights(labels)
    assert w.shape == (3,)
    assert w.tolist() == pytest.approx([1.5, 0.75, 0.75])


def test_balanced_weights_when_one_class_is_absent():
    assert balanced_weights(np.zeros(4)).tolist() == [0.5] * 4
    assert balanced_weights(np.ones(3, dtype=np.uint8)).tolist() == [0.5] * 3
    assert balanced_weights(np.zeros(0)).shape == (0,)


def test_equal_classes_get_weight_one():
    assert balanced_weights(np.array([0, 1, 0, 1])).tolist() == [1.0] * 4


def test_uniform_weights_are_ones():
    w = uniform_weights(np.array([[0], [1], [1]]))
    assert w.dtype == np.float32
    assert w.tolist() == [1.0, 1.0, 1.0]


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.sampled_from([0, 1]), min_size=1, max_size=200))
def test_each_present_class_sums_to_half_of_n(labels):
    y = np.array(labels, dtype=np.uint8)
    w = balanced_weights(y)
    n = len(y)
    for value in (0, 1):
        members = w[y == value]
        if members.size:
            assert float(members.sum(dtype=np.float64)) == pytest.approx(n / 2, rel=1e-5)
            assert np.all(members == members[0])
