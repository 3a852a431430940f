"""Signal channels: bigWig tracks read over each X row's span (bigWigs made with pyBigWig here)."""
from __future__ import annotations

import hashlib

import numpy as np
import pyBigWig
import pytest

from tfbinding import load_dataset
from tfbinding.data.dataset import assemble_dataset
from tfbinding.data.onehot import build_onehot
from tfbinding.data.signals import build_signals
from tfbinding.data.split import SplitSpec, split_windows
from tfbinding.errors import InputError
from tfbinding.layout import signal_path
from tiny_genome import CHROMS, FLANK, LENGTH, SEQUENCES, STRIDE, build_pieces


def write_bigwig(path, tracks: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
    """One value per base (NaN: no entry written)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, values in tracks.items():
        keep = np.flatnonzero(~np.isnan(values))
        bw.addEntries(chrom, int(keep[0]) if len(keep) else 0, values=[float(v) for v in values[keep]],
                      span=1, step=1) if len(keep) and np.all(np.diff(keep) == 1) else None
    bw.close()


SIZES = {chrom: len(seq) for chrom, seq in SEQUENCES.items()}
TRACKS = {chrom: np.arange(size, dtype=np.float64) % 97 for chrom, size in SIZES.items()}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    pieces = build_pieces(root, STRIDE)
    out = root / "split.npz"
    split_windows(CHROMS, pieces["labels"], out, length=LENGTH, flank=FLANK,
                  split=SplitSpec(fractions=(0.6, 0.2, 0.2), seed=3))
    return {**pieces, "table": out, "root": root}


def expected_rows(track: np.ndarray, starts, size: int) -> np.ndarray:
    rows = []
    for start in starts:
        row = [track[p] if 0 <= p < size else 0.0 for p in range(start - FLANK, start + LENGTH + FLANK)]
        rows.append(row)
    return np.array(rows, dtype=np.float32).reshape(len(starts), LENGTH + 2 * FLANK)


def test_signal_rows_match_the_track_base_by_base(table, tmp_path):
    bigwig = tmp_path / "a.bw"
    write_bigwig(bigwig, TRACKS, SIZES)
    prefixes = []
    for chrom in CHROMS:
        prefix = tmp_path / "s" / chrom
        counts = build_signals(table["table"], [bigwig, bigwig], ["none", "log1p"], table["fasta"], chrom,
                               prefix, chunk=2)
        assert counts == {"nan_bases": 0, "missing_chromosome": 0}
        prefixes.append(prefix)
        build_onehot(table["table"], table["fasta"], chrom, tmp_path / "x" / chrom)
    split_table = np.load(table["table"])
    for chrom, prefix in zip(CHROMS, prefixes):
        index = CHROMS.index(chrom)
        for value, name in enumerate(("train", "valid", "test")):
            starts = split_table["starts"][(split_table["chrom_index"] == index) & (split_table["split"] == value)]
            got = np.load(signal_path(prefix, name))
            assert got.shape == (len(starts), LENGTH + 2 * FLANK, 2) and got.dtype == np.float32
            want = expected_rows(TRACKS[chrom], starts, SIZES[chrom])
            assert np.array_equal(got[:, :, 0], want)
            assert np.allclose(got[:, :, 1], np.log1p(want))
    assemble_dataset(table["table"], [tmp_path / "x" / c for c in CHROMS], tmp_path / "dataset",
                     signal_prefixes=prefixes,
                     signals=[{"name": "a", "transform": "none", "bigwig": "https://example.org/a.bw",
                               "file": str(bigwig)},
                              {"name": "b", "transform": "log1p", "bigwig": str(bigwig), "file": str(bigwig)}])
    data = load_dataset(tmp_path / "dataset")
    assert data.manifest["signals"]["channels"][0] == {"name": "a", "transform": "none",
                                                      "bigwig": "https://example.org/a.bw"}
    digest = hashlib.sha256(bigwig.read_bytes()).hexdigest()
    assert data.manifest["inputs"]["signals"] == [
        {"name": name, "path": str(bigwig), "bytes": bigwig.stat().st_size, "sha256": digest, "url": url}
        for name, url in (("a", "https://example.org/a.bw"), ("b", None))]
    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        assert split["S"].shape == (len(split["y"]), LENGTH + 2 * FLANK, 2)
        for row, identifier in zip(split["S"][:, :, 0], split["ids"]):
            chrom, span = str(identifier).split(":")
            start = int(span.split("-")[0])
            assert np.array_equal(row, expected_rows(TRACKS[chrom], [start], SIZES[chrom])[0])
    assert data.manifest["signals"]["zeroed_total"] == {"nan_bases": 0, "missing_chromosome": 0}


def test_missing_chromosome_and_nan_are_errors_unless_zero(table, tmp_path):
    partial = {"chr1": TRACKS["chr1"].copy()}
    partial["chr1"][400:] = np.nan                        # no value past base 400
    bigwig = tmp_path / "partial.bw"
    write_bigwig(bigwig, partial, {"chr1": SIZES["chr1"]})   # no chr2 at all
    with pytest.raises(InputError, match=r"partial\.bw.*chromosome 'chr2'"):
        build_signals(table["table"], [bigwig], ["none"], table["fasta"], "chr2", tmp_path / "p2")
    with pytest.raises(InputError, match=r"partial\.bw.*NaN.*chr1"):
        build_signals(table["table"], [bigwig], ["none"], table["fasta"], "chr1", tmp_path / "p1")
    counts = build_signals(table["table"], [bigwig], ["none"], table["fasta"], "chr2", tmp_path / "z2",
                           missing="zero")
    assert counts == {"nan_bases": 0, "missing_chromosome": 1}
    assert not np.load(signal_path(tmp_path / "z2", "train")).any()
    counts = build_signals(table["table"], [bigwig], ["none"], table["fasta"], "chr1", tmp_path / "z1",
                           missing="zero")
    split_table = np.load(table["table"])
    starts = split_table["starts"][(split_table["chrom_index"] == 0) & (split_table["split"] >= 0)]
    span = np.arange(-FLANK, LENGTH + FLANK)
    positions = (starts[:, None] + span[None, :]).ravel()
    assert counts["nan_bases"] == int(np.count_nonzero((positions >= 400) & (positions < SIZES["chr1"])))


def test_bad_transform_or_file(table, tmp_path):
    with pytest.raises(InputError, match="transform"):
        build_signals(table["table"], [tmp_path / "x.bw"], ["sqrt"], table["fasta"], "chr1", tmp_path / "p")
    (tmp_path / "x.bw").write_text("not a bigwig")
    with pytest.raises(InputError, match="x.bw"):
        build_signals(table["table"], [tmp_path / "x.bw"], ["none"], table["fasta"], "chr1", tmp_path / "p")
