"""Rows of memory-mapped .npy arrays read with pread (tfbinding.io.npy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.io.npy import read_rows


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("npy") / "X.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (500, 7, 4), dtype=np.uint8))
    return path


def test_hand_made_rows_runs_repeats_and_order(stored):
    X = np.load(stored, mmap_mode="r")
    for rows in ([0], [499], [3, 4, 5, 9], [9, 3, 4, 5], [7, 7, 8], [], list(range(500))):
        got = read_rows(X, np.array(rows, dtype=np.int64), map_below=0)
        assert got.shape == (len(rows), 7, 4) and not isinstance(got, np.memmap)
        np.testing.assert_array_equal(got, np.asarray(X[rows]))


@given(rows=st.lists(st.integers(0, 499), max_size=60), first=st.integers(0, 200), step=st.sampled_from([1, 2]))
@settings(max_examples=200, deadline=None)
def test_equals_fancy_indexing_on_maps_views_and_plain_arrays(stored, rows, first, step):
    X = np.load(stored, mmap_mode="r")
    view = X[first::step]  # a view keeps the map and offset of the array it came from
    rows = np.array([r for r in rows if r < len(view)], dtype=np.int64)
    np.testing.assert_array_equal(read_rows(view, rows, map_below=0), np.asarray(view)[rows])
    np.testing.assert_array_equal(read_rows(X, rows, map_below=0), np.asarray(X)[rows])
    np.testing.assert_array_equal(read_rows(X, rows), np.asarray(X)[rows])  # small: through the map
    np.testing.assert_array_equal(read_rows(np.asarray(X), rows, map_below=0), np.asarray(X)[rows])


def test_float32_arrays_and_out_of_range_rows(tmp_path):
    S = np.arange(60, dtype=np.float32).reshape(10, 3, 2)
    np.save(tmp_path / "S.npy", S)
    mapped = np.load(tmp_path / "S.npy", mmap_mode="r")
    np.testing.assert_array_equal(read_rows(mapped, np.array([9, 0, 1]), map_below=0), S[[9, 0, 1]])
    with pytest.raises(IndexError, match=r"rows outside \[0, 10\)"):
        read_rows(mapped, np.array([10]), map_below=0)


def _rss_file_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no RssFile")


def test_reading_rows_maps_none_of_the_file(tmp_path):
    """Rows drawn at random across a 64-MB split (read with pread, as a split over
    MAP_BELOW_BYTES is): the resident set stays as it was; through the map it would grow by
    most of the file."""
    n = 160_000  # rows of 404 bytes
    np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.uint8, shape=(n, 101, 4))[:] = 1
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    rows = np.sort(np.random.default_rng(1).choice(n, 20_000, replace=False))
    read_rows(X, rows[:10], map_below=0)  # first call: any lazy allocation
    before = _rss_file_bytes()
    got = read_rows(X, rows, map_below=0)
    assert got.sum() == got.size
    assert _rss_file_bytes() - before < 4 * 2**20
