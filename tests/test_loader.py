"""Reading a built dataset back."""
from __future__ import annotations

import pytest

from tfbinding import load_dataset
from tfbinding.errors import InputError


def test_load_dataset_without_manifest(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(InputError, match="no manifest.json"):
        load_dataset(tmp_path)


# --------------------------------------------------------------------------- ids
