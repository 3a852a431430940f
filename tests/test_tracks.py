"""Per-base mean tracks, called sites, and their bedGraph/bigWig/BED files."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.genomewide.tracks import (
    _mean_track_whole,
    call_sites,
    mean_track,
    write_bedgraph,
    write_bigwig,
    write_sites,
)


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


def _assert_same_track(got, expected):
    for field in ("starts", "ends", "values"):
        a, b = getattr(got, field), getattr(expected, field)
        assert a.dtype == b.dtype and a.shape == b.shape, field
        assert a.tobytes() == b.tobytes(), field  # byte-identical, NaN and -0.0 included


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 80), st.integers(1, 40), st.integers(1, 60), st.sampled_from(["tiled", "gaps", "repeats"]),
       st.booleans(), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_blockwise_mean_track_is_byte_identical_to_the_whole_array_one(n, length, stride, layout, few_values,
                                                                       block, seed):
    """Blocks of a few windows (many joins), strides below and above the length, gaps
    between windows, repeated starts, and equal neighbouring values (joins across blocks)."""
    rng = np.random.default_rng(seed)
    if layout == "tiled":
        starts = np.arange(n, dtype=np.int64) * stride
    elif layout == "gaps":
        starts = np.cumsum(rng.integers(1, stride + 1, n) * rng.choice([1, 1, 1, 5], n))
    else:
        starts = np.sort(rng.integers(0, n * stride // 3 + 1, n))
    if few_values:
        scores = rng.choice(np.array([0.0, -0.0, 0.25, 0.5, 1 / 3, 0.9], dtype=np.float32), n)
    else:
        scores = rng.random(n, dtype=np.float32)
    expected = _mean_track_whole(starts, length, scores, 4)
    _assert_same_track(mean_track(starts, length, scores, block=block), expected)
    _assert_same_track(mean_track(starts, length, scores), expected)  # one block


def test_blockwise_mean_track_on_a_long_tiling_with_an_n_gap():
    rng = np.random.default_rng(5)
    starts = np.arange(0, 200_000, 10, dtype=np.int64)
    starts = starts[(starts < 50_000) | (starts > 60_000)]  # windows skipped over a gap
    scores = np.round(rng.random(len(starts)), 1).astype(np.float32)  # many equal neighbours
    expected = _mean_track_whole(starts, 101, scores, 4)
    for block in (1, 1000, 4096, len(starts) - 1):
        _assert_same_track(mean_track(starts, 101, scores, block=block), expected)
    unsorted = rng.permutation(len(starts))  # unsorted starts take the whole-array path
    _assert_same_track(mean_track(starts[unsorted], 101, scores[unsorted], block=10),
                       _mean_track_whole(starts[unsorted], 101, scores[unsorted], 4))


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
    write_sites(tmp_path / "s.narrowPeak", "chrT", sites)
    fields = (tmp_path / "s.narrowPeak").read_text().split("\t")
    assert fields[:3] == ["chrT", "0", "150"] and fields[4] == "900" and fields[9].strip() == "100"


def _write_chrom(tmp_path, chrom, sizes, starts, scores, length=100, threshold=0.5):
    track = mean_track(np.asarray(starts), length, np.asarray(scores, dtype=np.float32))
    write_bigwig(tmp_path / f"{chrom}.bw", chrom, track, sizes)
    write_sites(tmp_path / f"{chrom}.sites.narrowPeak", chrom,
                call_sites(np.asarray(starts), length, np.asarray(scores), threshold))


def test_merged_bigwig_and_sites_equal_the_per_chromosome_files(tmp_path):
    from tfbinding.genomewide.merge_predictions import NARROWPEAK_COLUMNS, merge_predictions

    sizes = {"chr2": 5000, "chr10": 4000, "chrX": 3000}  # FASTA order; chrX not predicted
    (tmp_path / "genome.fa.fai").write_text("".join(f"{c}\t{n}\t0\t60\t61\n" for c, n in sizes.items()))
    rng = np.random.default_rng(0)
    for chrom in ("chr10", "chr2"):  # given out of FASTA order
        starts = np.arange(0, sizes[chrom] - 100, 50)
        _write_chrom(tmp_path, chrom, sizes, starts, rng.random(len(starts)))
    chroms = ["chr10", "chr2"]
    merged = merge_predictions([tmp_path / f"{c}.bw" for c in chroms],
                               [tmp_path / f"{c}.sites.narrowPeak" for c in chroms], chroms,
                               tmp_path / "genome.fa.fai", tmp_path / "genome.bw",
                               tmp_path / "genome.sites.narrowPeak")
    genome = pyBigWig.open(str(tmp_path / "genome.bw"))
    assert genome.chroms() == sizes
    total = 0
    for chrom in chroms:
        single = pyBigWig.open(str(tmp_path / f"{chrom}.bw"))
        assert genome.intervals(chrom) == single.intervals(chrom)  # exactly, value for value
        total += len(single.intervals(chrom))
        single.close()
    assert genome.intervals("chrX") is None
    genome.close()
    assert merged == {"chromosomes": 2, "intervals": total, "sites": merged["sites"]}
    rows = [line.split("\t") for line in (tmp_path / "genome.sites.narrowPeak").read_text().splitlines()]
    per_chrom = sum(len((tmp_path / f"{c}.sites.narrowPeak").read_text().splitlines()) for c in chroms)
    assert len(rows) == merged["sites"] == per_chrom > 2
    assert all(len(row) == NARROWPEAK_COLUMNS for row in rows)
    keys = [(row[0].encode(), int(row[1]), int(row[2])) for row in rows]
    assert keys == sorted(keys)  # as `sort -k1,1 -k2,2n`: chr10 before chr2
    assert rows[0][0] == "chr10" and rows[-1][0] == "chr2"
    for row in rows:  # narrowPeak: score 0-1000, strand '.', summit inside the site
        assert 0 <= int(row[4]) <= 1000 and row[5] == "." and float(row[6]) >= 0.5
        assert 0 <= int(row[9]) < int(row[2]) - int(row[1])


def test_a_bigwig_from_another_genome_is_a_clear_error(tmp_path):
    from tfbinding.errors import InputError
    from tfbinding.genomewide.merge_predictions import merge_bigwigs

    (tmp_path / "genome.fa.fai").write_text("chr1\t5000\t0\t60\t61\n")
    _write_chrom(tmp_path, "chr1", {"chr1": 4000}, [0, 100], [0.7, 0.2])
    with pytest.raises(InputError, match=r"chr1.bw: the bigWig has 4,000 bp for chr1, the FASTA 5,000"):
        merge_bigwigs([tmp_path / "chr1.bw"], ["chr1"], tmp_path / "genome.fa.fai", tmp_path / "out.bw")
    assert not (tmp_path / "out.bw").exists()


def test_a_sites_line_without_ten_columns_is_a_clear_error(tmp_path):
    from tfbinding.errors import InputError
    from tfbinding.genomewide.merge_predictions import merge_sites

    (tmp_path / "chr1.sites.narrowPeak").write_text("chr1\t10\t20\tx\t500\t.\n")
    with pytest.raises(InputError, match=r"narrowPeak, line 1: 6 tab-separated columns, narrowPeak has 10"):
        merge_sites([tmp_path / "chr1.sites.narrowPeak"], tmp_path / "genome.sites.narrowPeak")


def test_merging_in_small_blocks_copies_intervals_across_block_edges_once(tmp_path):
    from tfbinding.genomewide.merge_predictions import merge_bigwigs

    (tmp_path / "genome.fa.fai").write_text("chr1\t5000\t0\t60\t61\n")
    starts = np.arange(0, 4900, 37)
    _write_chrom(tmp_path, "chr1", {"chr1": 5000}, starts, np.linspace(0, 1, len(starts)))
    for block_bp in (333, 1000, 10_000):
        merge_bigwigs([tmp_path / "chr1.bw"], ["chr1"], tmp_path / "genome.fa.fai", tmp_path / "m.bw",
                      block_bp=block_bp)
        merged, single = pyBigWig.open(str(tmp_path / "m.bw")), pyBigWig.open(str(tmp_path / "chr1.bw"))
        assert merged.intervals("chr1") == single.intervals("chr1")
        merged.close()
        single.close()


def test_a_chromosome_name_that_would_break_a_line_is_refused(tmp_path):
    """Issue 22: names written into narrowPeak/bedGraph lines go through tfbinding.text."""
    from tfbinding.errors import InputError

    sites = call_sites(np.array([0, 50]), 100, np.array([0.9, 0.2]), 0.5)
    track = mean_track(np.array([0, 50]), 100, np.array([0.9, 0.2]))
    for chrom in ("chr1\nchr2\t0\t10", "chr1\tx", 'chr"1', "chr 1"):
        with pytest.raises(InputError, match="chromosome name"):
            write_sites(tmp_path / "s.narrowPeak", chrom, sites)
        with pytest.raises(InputError, match="chromosome name"):
            write_bedgraph(tmp_path / "t.bedGraph", chrom, track)
    assert not list(tmp_path.iterdir())
