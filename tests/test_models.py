"""The model builders: the study's ablation and improved."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from conftest import TINY_LENGTH  # noqa: E402
from tfbinding.errors import InputError  # noqa: E402
from tfbinding.models import build_model  # noqa: E402
from tfbinding.options import TRAINED_MODELS, TrainingConfig  # noqa: E402


@pytest.mark.parametrize("model_name", TRAINED_MODELS)
def test_each_model_builds_with_one_sigmoid_output(model_name):
    model = build_model(model_name, TINY_LENGTH, TrainingConfig())
    assert model.output_shape == (None, 1)
    has_dropout = any("dropout" in layer.name for layer in model.layers)
    assert has_dropout == (model_name != "no_dropout")


def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(InputError, match="model: 'deep' is not one of no_dropout"):
        build_model("deep", TINY_LENGTH)
