"""Per-base mean tracks, called sites, and their bedGraph/bigWig/BED files."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.tracks import call_sites, mean_track, write_bedgraph, write_bigwig, write_sites


def test_mean_of_overlapping_windows_hand_made():
    track = mean_track(np.array([0, 50, 300]), 100, np.array([0.2, 0.6, 0.5], dtype=np.float32))
    assert track.starts.tolist() == [0, 50, 100, 300]
    assert track.ends.tolist() == [50, 100, 150, 400]  # [150, 300) is under no window: left out
    np.testing.assert_allclose(track.values, [0.2, 0.4, 0.6, 0.5])


def test_equal_neighbours_are_joined():
    track = mean_track(np.array([0, 100]), 100, np.array([0.5, 0.5], dtype=np.float32))
    assert (track.starts.tolist(), track.ends.tolist()) == ([0], [200])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=15, unique=True), st.integers(1, 60),
       st.data())
def test_mean_track_equals_per_base_brute_force(starts, length, data):
    starts = np.array(sorted(starts))
    scores = np.array(data.draw(st.lists(st.floats(0, 1, width=32), min_size=len(starts),
                                         max_size=len(starts))), dtype=np.float32)
    track = mean_track(starts, length, scores)
    total = np.zeros(400)
    count = np.zeros(400)
    for start, score in zip(starts, scores):
        total[start:start + length] += score
        count[start:start + length] += 1
    per_base = np.full(400, np.nan)
    for start, end, value in zip(track.starts, track.ends, track.values):
        per_base[start:end] = value
    covered = count > 0
    np.testing.assert_allclose(per_base[covered], np.round(total[covered] / count[covered], 4), atol=1e-4)
    assert np.isnan(per_base[~covered]).all()
    assert np.all(track.starts[1:] >= track.ends[:-1])  # sorted, non-overlapping


def test_sites_merge_touching_windows_and_keep_the_best():
    sites = call_sites(np.array([0, 100, 250, 400]), 100, np.array([0.9, 0.8, 0.3, 0.95]), 0.5)
    assert sites.starts.tolist() == [0, 400]
    assert sites.ends.tolist() == [200, 500]  # [0,100) and [100,200) touch: one site
    np.testing.assert_allclose(sites.scores, [0.9, 0.95])
    assert sites.summits.tolist() == [50, 450]
    assert len(call_sites(np.array([0]), 10, np.array([0.1]), 0.5).starts) == 0


def test_bedgraph_is_valid_and_bigwig_reads_back_the_same_values(tmp_path):
    sizes = {"chrA": 1000, "chrT": 700}
    track = mean_track(np.arange(0, 600, 50), 101, np.linspace(0, 1, 12, dtype=np.float32))
    write_bedgraph(tmp_path / "chrT.bedGraph", "chrT", track)
    write_bigwig(tmp_path / "chrT.bw", "chrT", track, sizes)
    lines = (tmp_path / "chrT.bedGraph").read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    rows = [line.split("\t") for line in lines[1:]]
    starts = [int(r[1]) for r in rows]
    ends = [int(r[2]) for r in rows]
    assert all(r[0] == "chrT" for r in rows)
    assert starts == sorted(starts) and all(s < e for s, e in zip(starts, ends))
    assert all(e <= s2 for e, s2 in zip(ends, starts[1:])) and max(ends) <= sizes["chrT"]
    bigwig = pyBigWig.open(str(tmp_path / "chrT.bw"))
    assert bigwig.chroms() == sizes
    intervals = bigwig.intervals("chrT")
    assert [(s, e) for s, e, _ in intervals] == list(zip(starts, ends))
    np.testing.assert_allclose([v for _, _, v in intervals], [float(r[3]) for r in rows], atol=1e-4)
    bigwig.close()


def test_sites_file_is_narrowpeak_shaped(tmp_path):
    sites = call_sites(np.array([0, 50]), 100, np.array([0.7, 0.9]), 0.5)
    write_sites(tmp_path / "s.bed", "chrT", sites)
    fields = (tmp_path / "s.bed").read_text().split("\t")
    assert fields[:3] == ["chrT", "0", "150"] and fields[4] == "900" and fields[9].strip() == "100"
