"""Tests for tfbinding.data.onehot: the A,C,G,T one-hot table, window encoding with flanks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.data.onehot import base_classes, centred_windows, encode_windows, iter_encoded_windows, one_hot
from tfbinding.errors import InputError

EYE = np.eye(4, dtype=np.uint8)
ZERO = [0, 0, 0, 0]


def seq(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


# --------------------------------------------------------------------------- one_hot

def test_channels_are_a_c_g_t_in_that_order():
    got = one_hot("ACGT")
    assert got.dtype == np.uint8
    assert got.shape == (4, 4)
    assert np.array_equal(got, EYE)


def test_lowercase_encodes_like_uppercase():
    assert np.array_equal(one_hot("acgt"), EYE)
    assert np.array_equal(one_hot("aCgT"), one_hot("ACGT"))


@pytest.mark.parametrize("code", list("NnRYSWKMBDHVryswkmbdhvUu-.X"))
def test_n_iupac_and_other_codes_are_all_zero_rows(code):
    assert one_hot(code).tolist() == [ZERO]


def test_accepts_str_bytes_and_uint8_array_alike():
    text = "ACNGTtacg"
    expected = one_hot(text)
    assert np.array_equal(one_hot(text.encode()), expected)
    assert np.array_equal(one_hot(seq(text)), expected)
    assert expected.tolist() == [
        [1, 0, 0, 0], [0, 1, 0, 0], ZERO, [0, 0, 1, 0], [0, 0, 0, 1],
        [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]


def test_empty_sequence():
    assert one_hot("").shape == (0, 4)


# --------------------------------------------------------------------------- base_classes

def test_base_classes_accepts_nucleotides_iupac_and_gaps():
    base_classes(seq("ACGTNacgtnRYSWKMBDHVU-."), "chrT")  # no error


def test_base_classes_names_sequence_position_and_byte():
    with pytest.raises(InputError) as info:
        base_classes(seq("ACGT>ACG@T"), "genome.fa: chrT")
    message = str(info.value)
    assert "genome.fa: chrT" in message
    assert "position 4" in message
    assert "'>'" in message
    assert "2 such bytes" in message


# --------------------------------------------------------------------------- encode_windows

def test_encode_windows_without_flank_is_the_slice():
    s = seq("ACGTNacgtA")
    got = encode_windows(s, np.array([0, 3, 6]), length=4)
    assert got.shape == (3, 4, 4)
    for row, start in enumerate([0, 3, 6]):
        assert np.array_equal(got[row], one_hot(s[start:start + 4]))


def test_flanks_past_either_end_are_all_zero_rows():
    s = seq("ACGTAC")  # length 6
    got = encode_windows(s, np.array([0, 2]), length=4, flank=2)
    assert got.shape == (2, 8, 4)
    # window at 0: flank [-2, 0) is outside -> zero, then ACGT, then flank [4, 6) = AC
    assert got[0].tolist() == [ZERO, ZERO] + EYE.tolist() + [[1, 0, 0, 0], [0, 1, 0, 0]]
    # window at 2 (last that fits): flank [0, 2) = AC, window GTAC, flank [6, 8) outside -> zero
    assert got[1].tolist() == ([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
                                [1, 0, 0, 0], [0, 1, 0, 0], ZERO, ZERO])


def test_flank_longer_than_chromosome():
    s = seq("GT")
    got = encode_windows(s, np.array([0]), length=2, flank=3)
    assert got.shape == (1, 8, 4)
    assert got[0].tolist() == [ZERO] * 3 + [[0, 0, 1, 0], [0, 0, 0, 1]] + [ZERO] * 3


def test_iter_encoded_windows_yields_bounded_chunks_in_order():
    rng = np.random.default_rng(1)
    s = rng.choice(np.frombuffer(b"ACGTNacgt", np.uint8), size=200)
    starts = np.arange(0, 190, 7)  # 28 windows
    blocks = list(iter_encoded_windows(s, starts, length=10, flank=3, chunk=8))
    assert [len(b) for b in blocks] == [8, 8, 8, 4]
    assert all(b.shape[1:] == (16, 4) and b.dtype == np.uint8 for b in blocks)
    together = np.concatenate(blocks)
    assert np.array_equal(together, encode_windows(s, starts, length=10, flank=3))
    for row, start in enumerate(starts.tolist()):
        lo, hi = max(0, start - 3), min(len(s), start + 13)
        pad_left = lo - (start - 3)
        assert np.array_equal(together[row, pad_left:pad_left + hi - lo], one_hot(s[lo:hi]))


def test_iter_encoded_windows_no_starts_yields_nothing():
    assert list(iter_encoded_windows(seq("ACGT"), np.array([], dtype=np.int64), 2, 1)) == []


def test_encode_windows_no_starts():
    got = encode_windows(seq("ACGT"), np.array([], dtype=np.int64), length=2, flank=1)
    assert got.shape == (0, 4, 4)


# --------------------------------------------------------------------------- properties

bases = st.sampled_from(list("ACGTNacgtnRYrykM-"))


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=bases, max_size=60))
def test_one_hot_rows_sum_to_zero_or_one(text):
    encoded = one_hot(text)
    sums = encoded.sum(axis=1)
    assert set(sums.tolist()) <= {0, 1}
    # a row is hot exactly for A, C, G, T in any case
    assert sums.tolist() == [1 if c in "ACGTacgt" else 0 for c in text]


@st.composite
def sequence_and_windows(draw):
    length = draw(st.integers(1, 50))
    text = draw(st.text(alphabet=bases, min_size=length, max_size=length))
    width = draw(st.integers(1, length))
    flank = draw(st.integers(0, 12))
    starts = draw(st.lists(st.integers(0, length - width), max_size=10))
    return text, width, flank, starts


@settings(max_examples=100, deadline=None)
@given(case=sequence_and_windows(), chunk=st.integers(1, 5))
def test_encode_windows_equals_one_hot_of_padded_slice(case, chunk):
    text, width, flank, starts = case
    s = seq(text)
    got = encode_windows(s, np.array(starts, dtype=np.int64), width, flank)
    chunks = list(iter_encoded_windows(s, np.array(starts, dtype=np.int64), width, flank, chunk))
    assert all(len(block) <= chunk for block in chunks)
    if starts:
        assert np.array_equal(np.concatenate(chunks), got)
    assert got.shape == (len(starts), width + 2 * flank, 4)
    for row, start in enumerate(starts):
        # brute force: base by base, positions outside the sequence are zero rows
        expected = []
        for pos in range(start - flank, start + width + flank):
            expected.append(one_hot(text[pos]).tolist()[0] if 0 <= pos < len(text) else ZERO)
        assert got[row].tolist() == expected
        # and the window proper is one_hot of the slice
        assert np.array_equal(got[row, flank:flank + width], one_hot(s[start:start + width]))


def test_chromosome_shorter_than_one_window_encodes_without_error():
    """A contig shorter than a window: no windows (the windows step drops them), or a
    window that runs past its end reads zero rows there, instead of a numpy error."""
    short = seq("ACG")
    assert list(iter_encoded_windows(short, np.array([], dtype=np.int64), length=10)) == []
    assert encode_windows(short, np.array([], dtype=np.int64), length=10, flank=5).shape == (0, 20, 4)
    got = encode_windows(short, np.array([0]), length=5)
    assert got[0].tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], ZERO, ZERO]
    assert encode_windows(seq(""), np.array([], dtype=np.int64), length=4).shape == (0, 4, 4)


def test_centred_windows_pad_past_the_chromosome_ends():
    sequence = np.frombuffer(b"ACGTACGTAC", dtype=np.uint8)
    X = centred_windows(sequence, np.array([0, 5, 9]), 5)
    assert X.shape == (3, 5, 4)
    np.testing.assert_array_equal(X[0, :2], 0)  # before position 0
    np.testing.assert_array_equal(X[0, 2:], one_hot("ACG"))
    np.testing.assert_array_equal(X[1], one_hot("TACGT"))
    np.testing.assert_array_equal(X[2, :3], one_hot("TAC"))
    np.testing.assert_array_equal(X[2, 3:], 0)  # past the end


# --- the onehot step's fast paths: memory-mapped split table, bases gathered from the FASTA --


def test_sparse_and_dense_paths_write_identical_files(tmp_path, monkeypatch):
    """Rows gathered straight from the FASTA (line ends skipped, flanks past either end
    zero) equal the encoding of the whole chromosome read once, byte for byte."""
    from tfbinding.data import onehot as step
    from tfbinding.data.labels import build_labels
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.split import SplitSpec, split_windows
    from tfbinding.data.windows import build_windows

    rng = np.random.default_rng(5)
    chroms = {"chrA": 2_345, "chrB": 1_001, "chrC": 777}
    lines = []
    for name, size in chroms.items():
        bases = np.frombuffer(b"ACGTNacgtR", np.uint8)[rng.integers(0, 10, size)].tobytes().decode()
        lines.append(f">{name}\n" + "\n".join(bases[i:i + 50] for i in range(0, size, 50)))
    (tmp_path / "raw.fa").write_text("\n".join(lines) + "\n")
    (tmp_path / "peaks.bed").write_text("chrA\t100\t400\nchrB\t10\t300\nchrC\t500\t700\n")
    fasta = tmp_path / "g" / "g.fa"
    prepare_fasta(tmp_path / "raw.fa", fasta)
    for name in chroms:
        build_windows(fasta, name, tmp_path / f"{name}.w.npz", length=60, stride=37, max_n_fraction=1.0)
        build_labels(tmp_path / f"{name}.w.npz", tmp_path / "peaks.bed", fasta, name,
                     tmp_path / f"{name}.l.npz", length=60)
    table = tmp_path / "split.npz"
    split_windows(list(chroms), [tmp_path / f"{c}.l.npz" for c in chroms], table, length=60, flank=45,
                  split=SplitSpec(method="blocks", block_size=500, negative_fraction=0.5))
    for name in chroms:
        monkeypatch.setattr(step, "SPARSE_FRACTION", 0.0)   # always read the chromosome
        dense = step.build_onehot(table, fasta, name, tmp_path / "dense" / name)
        monkeypatch.setattr(step, "SPARSE_FRACTION", 2.0)   # always gather
        sparse = step.build_onehot(table, fasta, name, tmp_path / "sparse" / name)
        for a, b in zip(dense, sparse):
            assert a.read_bytes() == b.read_bytes()
        assert sum(np.load(path).shape[0] for path in dense) > 0


def test_npz_memmaps_and_chrom_rows_match_np_load_and_rows_for_chrom(tmp_path):
    from tfbinding.data.onehot import chrom_rows
    from tfbinding.layout import npz_memmaps, rows_for_chrom

    chrom_index = np.repeat(np.arange(4, dtype=np.int32), [3, 0, 5, 2])
    table = {"chroms": np.array(["a", "b", "c", "d"]), "chrom_index": chrom_index,
             "split": np.array([0, 1, 2, 0, 0, 1, 2, 2, 1, 0], dtype=np.int8),
             "starts": np.arange(10, dtype=np.int64) * 7, "length": np.int64(5)}
    np.savez(tmp_path / "t.npz", **table)
    mapped = npz_memmaps(tmp_path / "t.npz", ("chroms", "chrom_index", "split", "starts", "length"))
    for key, value in table.items():
        assert np.array_equal(np.asarray(mapped[key]), value)
    for chrom in ("a", "b", "c", "d"):
        first, last = chrom_rows(mapped, chrom)
        for value in range(3):
            rows = first + np.flatnonzero(np.asarray(mapped["split"][first:last]) == value)
            assert rows.tolist() == rows_for_chrom(table, chrom, value).tolist()
    table["chrom_index"] = chrom_index[::-1].copy()
    with pytest.raises(ValueError, match="not grouped by chromosome"):
        chrom_rows(table, "a")
