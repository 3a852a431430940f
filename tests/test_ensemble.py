"""Fold ensembles: load_ensemble / predict_ensemble average the members' probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import LENGTH, motif_model, planted_windows
from tfbinding.errors import InputError
from tfbinding.models.inference import load_ensemble, predict_ensemble, predict_probabilities


def save(model, folder):
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    return folder


def test_ensemble_scores_are_the_mean_of_the_members(tmp_path):
    one = motif_model()
    two = motif_model(sites=("GATAAGA", "TCTTATC"))   # another motif: different scores
    folders = [save(one, tmp_path / "fold0"), save(two, tmp_path / "fold1")]
    X, _ = planted_windows(16)
    models = load_ensemble(folders)
    mean, members = predict_ensemble(models, X, reverse_complement_average=True)
    first = predict_probabilities(models[0], X, True)
    second = predict_probabilities(models[1], X, True)
    assert members.shape == (2, len(X))
    assert np.allclose(members, np.stack([first, second]))
    assert np.allclose(mean, (first + second) / 2, atol=1e-7)
    assert not np.allclose(first, second)
    # one member: its own scores, exactly
    alone, _ = predict_ensemble(models[:1], X)
    assert np.array_equal(alone, predict_probabilities(models[0], X))


def test_an_ensemble_of_different_input_lengths_is_refused(tmp_path):
    folders = [save(motif_model(), tmp_path / "a"), save(motif_model(LENGTH + 10), tmp_path / "b")]
    with pytest.raises(InputError, match="differ in input"):
        load_ensemble(folders)
    with pytest.raises(InputError, match="at least one"):
        load_ensemble([])
