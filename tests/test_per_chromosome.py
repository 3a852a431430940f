"""The per-chromosome steps (windows, labels, onehot) on the tiny hand-made genome."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfbinding.data.labels import LabelRule, build_labels
from tfbinding.data.onehot import build_onehot
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.data.split import SplitSpec, split_windows
from tfbinding.data.windows import build_windows, window_starts_from_bed
from tfbinding.errors import InputError
from tfbinding.layout import onehot_path, read_drops
from tiny_genome import (
    CHROMS,
    FLANK,
    LENGTH,
    MAX_N,
    OVERLAPPING_STRIDE,
    PEAKS,
    SEQUENCES,
    build_pieces,
    coverage,
    expected_onehot,
)
from tiny_genome import expected_kept as expected_kept_every

# overlapping windows here: they exercise partial overlaps and the ambiguous band
STRIDE = OVERLAPPING_STRIDE


def expected_kept(chrom: str) -> list[int]:
    return expected_kept_every(chrom, STRIDE)


@pytest.fixture(scope="module")
def pieces(tmp_path_factory):
    return build_pieces(tmp_path_factory.mktemp("tiny_overlapping"), STRIDE)


def test_window_step_keeps_and_drops_what_brute_force_says(pieces):
    for chrom in CHROMS:
        with np.load(pieces["root"] / "windows" / f"{chrom}.npz") as archive:
            assert archive["starts"].tolist() == expected_kept(chrom)
            assert int(archive["considered"]) == len(range(0, len(SEQUENCES[chrom]), STRIDE))
    assert pieces["drops"]["chr1"] == {"past_chrom_end": 1, "blacklist": 2, "n_fraction": 1}
    assert pieces["drops"]["chr2"] == {"past_chrom_end": 1, "blacklist": 0, "n_fraction": 0}


def test_label_step_matches_per_base_overlap(pieces):
    for chrom, path in zip(CHROMS, pieces["labels"]):
        cov = coverage(chrom)
        with np.load(path) as archive:
            starts = archive["starts"].tolist()
            overlap = archive["overlap"].tolist()
            labels = archive["labels"].tolist()
            assert int(archive["peaks"]) == sum(1 for p in PEAKS if p[0] == chrom)
            assert read_drops(archive)["ambiguous_label"] == 0
        assert starts == expected_kept(chrom)
        assert overlap == [int(cov[s:s + LENGTH].sum()) for s in starts]
        assert labels == [int(cov[s:s + LENGTH].any()) for s in starts]
    # the half-open edge: chr1 window [250, 350) touches base 259 of the merged peak
    with np.load(pieces["labels"][0]) as archive:
        row = archive["starts"].tolist().index(250)
        assert archive["overlap"][row] == 10 and archive["labels"][row] == 1
        row = archive["starts"].tolist().index(0)
        assert archive["overlap"][row] == 0 and archive["labels"][row] == 0  # [0,100) vs [120,..)


def test_onehot_step_matches_brute_force_with_flanks(pieces, tmp_path):
    table = tmp_path / "split.npz"
    split_windows(CHROMS, pieces["labels"], table, length=LENGTH, flank=FLANK,
                  split=SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",)))
    with np.load(table) as archive:
        chrom_index, starts, split = archive["chrom_index"], archive["starts"], archive["split"]
    for index, chrom in enumerate(CHROMS):
        prefix = tmp_path / "onehot" / chrom
        build_onehot(table, pieces["fasta"], chrom, prefix)
        for value, name in enumerate(("train", "valid", "test")):
            X = np.load(onehot_path(prefix, name))
            mine = starts[(chrom_index == index) & (split == value)].tolist()
            assert mine == sorted(mine)
            assert X.shape == (len(mine), LENGTH + 2 * FLANK, 4) and X.dtype == np.uint8
            for row, start in enumerate(mine):
                assert np.array_equal(X[row], expected_onehot(chrom, start))
    # the window at 0 has its left flank before the chromosome: all-zero rows
    assert expected_onehot("chr1", 0)[:FLANK].sum() == 0


def test_labels_step_excludes_ambiguous_windows(pieces, tmp_path):
    out = tmp_path / "amb.npz"
    labels = build_labels(pieces["root"] / "windows" / "chr1.npz", pieces["peaks"], pieces["fasta"],
                          "chr1", out, length=LENGTH,
                          rule=LabelRule(min_overlap_bp=50, exclude_ambiguous=True))
    cov = coverage("chr1")
    overlaps = {s: int(cov[s:s + LENGTH].sum()) for s in expected_kept("chr1")}
    with np.load(out) as archive:
        assert archive["starts"].tolist() == [s for s, bp in overlaps.items() if bp == 0 or bp >= 50]
        assert read_drops(archive)["ambiguous_label"] == sum(1 for bp in overlaps.values()
                                                             if 0 < bp < 50)
        assert archive["labels"].tolist() == labels.tolist()
    assert read_drops(np.load(out))["ambiguous_label"] > 0  # the case exercises the rule


def test_labels_step_summit_mode(pieces, tmp_path):
    out = tmp_path / "summit.npz"
    build_labels(pieces["root"] / "windows" / "chr1.npz", pieces["peaks"], pieces["fasta"], "chr1",
                 out, length=LENGTH, rule=LabelRule(mode="summit"))
    summits = [s + (o if o >= 0 else (e - s) // 2) for c, s, e, o in PEAKS if c == "chr1"]
    assert summits == [150, 215, 825]
    with np.load(out) as archive:
        for start, label in zip(archive["starts"].tolist(), archive["labels"].tolist()):
            assert label == int(any(start <= x < start + LENGTH for x in summits))


def test_windows_from_bed(pieces, tmp_path):
    bed = tmp_path / "windows.bed"
    bed.write_text("chr1\t900\t1000\nchr1\t0\t100\nchr2\t500\t600\nchr1\t950\t1050\n"
                   "chr1\t300\t400\n")
    out = tmp_path / "w.npz"
    dropped = build_windows(pieces["fasta"], "chr1", out, length=LENGTH, stride=STRIDE,
                            max_n_fraction=MAX_N, windows_bed=bed)
    with np.load(out) as archive:
        assert archive["starts"].tolist() == [0, 900]
        assert int(archive["considered"]) == 4
    assert dropped == {"past_chrom_end": 1, "blacklist": 0, "n_fraction": 1}


def test_windows_bed_with_wrong_length_or_duplicates(pieces, tmp_path):
    sizes = {"chr1": 1000}
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t0\t100\nchr1\t100\t150\n")
    with pytest.raises(InputError, match=r"line 2: window chr1:100-150 is 50 bp long"):
        window_starts_from_bed(bad, "chr1", sizes, LENGTH)
    dup = tmp_path / "dup.bed"
    dup.write_text("chr1\t0\t100\nchr1\t200\t300\nchr1\t0\t100\n")
    with pytest.raises(InputError, match=r"dup.bed, line \d: window chr1:0-100 is listed twice"):
        window_starts_from_bed(dup, "chr1", sizes, LENGTH)


def test_windows_step_rejects_a_corrupt_fasta(tmp_path):
    raw = tmp_path / "bad.fa"
    raw.write_text(">chr1\nACGT*CGTAC\n")
    fasta = tmp_path / "g" / "bad.fa"
    prepare_fasta(raw, fasta)
    with pytest.raises(InputError, match=r"chr1: position 4 .* holds '\*'"):
        build_windows(fasta, "chr1", tmp_path / "w.npz", length=4, stride=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fa", "g"]


# --------------------------------------------------------------------------- assemble + load


# --------------------------------------------------------------------------- issue 11

def test_chromosome_shorter_than_one_window_gives_zero_windows_and_the_build_goes_on(tmp_path):
    """A genome-wide config lists short contigs: each gives no window, counted as a drop."""
    from tfbinding.data.dataset import assemble_dataset
    from tfbinding.data.loader import load_dataset

    rng = np.random.default_rng(3)
    long_chrom = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 3000)].tobytes().decode()
    raw = tmp_path / "g.fa"
    raw.write_text(f">chr1\n{long_chrom}\n>chrUn_short\nACGTACGTAC\n")
    (tmp_path / "peaks.bed").write_text("chr1\t100\t400\nchr1\t1500\t1800\nchrUn_short\t0\t5\n")
    fasta = tmp_path / "g" / "g.fa"
    prepare_fasta(raw, fasta)
    chroms = ["chr1", "chrUn_short"]
    for chrom in chroms:
        drops = build_windows(fasta, chrom, tmp_path / f"{chrom}.w.npz", length=100, stride=100)
        build_labels(tmp_path / f"{chrom}.w.npz", tmp_path / "peaks.bed", fasta, chrom,
                     tmp_path / f"{chrom}.l.npz", length=100)
    assert drops["past_chrom_end"] == 1
    split_windows(chroms, [tmp_path / f"{c}.l.npz" for c in chroms], tmp_path / "split.npz",
                  length=100, flank=0, split=SplitSpec(fractions=(0.6, 0.2, 0.2)))
    for chrom in chroms:
        build_onehot(tmp_path / "split.npz", fasta, chrom, tmp_path / f"X.{chrom}")
    assert np.load(onehot_path(tmp_path / "X.chrUn_short", "train")).shape == (0, 100, 4)
    manifest = assemble_dataset(tmp_path / "split.npz", [tmp_path / f"X.{c}" for c in chroms],
                                tmp_path / "dataset")
    short = manifest["chromosomes"]["chrUn_short"]
    assert short["considered"] == 1 and short["dropped"]["past_chrom_end"] == 1 and short["labelled"] == 0
    assert manifest["totals"]["windows"] == 30
    assert len(load_dataset(tmp_path / "dataset").train["X"]) == manifest["splits"]["train"]["windows"]


@pytest.mark.parametrize("content", [b"", b"track name=peaks\n# nothing\n"])
def test_a_peaks_file_without_peaks_is_an_error_unless_allowed(pieces, tmp_path, content):
    peaks = tmp_path / "empty.bed"
    peaks.write_bytes(content)
    windows = pieces["root"] / "windows" / "chr1.npz"
    out = tmp_path / "labels.npz"
    with pytest.raises(InputError, match=r"empty.bed: the peaks file holds no peak .* set "
                                         r"allow_empty_peaks: true in the config"):
        build_labels(windows, peaks, pieces["fasta"], "chr1", out, length=LENGTH)
    assert not out.exists()
    labels = build_labels(windows, peaks, pieces["fasta"], "chr1", out, length=LENGTH,
                          allow_empty_peaks=True)
    assert out.exists() and len(labels) > 0 and not labels.any()


# --------------------------------------------------------------------------- G+C per window

def brute_gc(sequence: str, start: int, length: int) -> float:
    window = sequence[start:start + length].upper()
    acgt = sum(window.count(base) for base in "ACGT")
    return (window.count("G") + window.count("C")) / acgt if acgt else 0.0


def test_gc_fraction_by_hand():
    from tfbinding.data.windows import gc_fraction
    sequence = np.frombuffer(b"GGCCaattNNgcAT", dtype=np.uint8)
    # [0,4) GGCC: 1; [4,8) aatt: 0; [6,10) ttNN: 0/2; [8,12) NNgc: 2/2; [10,14) gcAT: 0.5
    got = gc_fraction(sequence, np.array([0, 4, 6, 8, 10]), 4, chunk_bytes=3)
    assert got.dtype == np.float32
    assert got.tolist() == [1.0, 0.0, 0.0, 1.0, 0.5]
    assert gc_fraction(np.frombuffer(b"NNNN", dtype=np.uint8), np.array([0]), 4).tolist() == [0.0]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ACGTacgtN", min_size=1, max_size=60), st.integers(1, 10), st.integers(1, 17),
       st.integers(1, 9))
def test_gc_fraction_equals_brute_force(text, length, stride, chunk):
    from tfbinding.data.windows import gc_fraction
    starts = np.arange(0, max(len(text) - length + 1, 0), stride)    # overlapping or not
    got = gc_fraction(np.frombuffer(text.encode(), dtype=np.uint8), starts, length, chunk_bytes=chunk)
    assert np.allclose(got, [brute_gc(text, s, length) for s in starts], atol=1e-6)


def test_windows_and_labels_steps_carry_gc(pieces):
    for chrom, path in zip(CHROMS, pieces["labels"]):
        with np.load(path) as archive:
            starts, gc = archive["starts"].tolist(), archive["gc"]
        assert np.allclose(gc, [brute_gc(SEQUENCES[chrom], s, LENGTH) for s in starts], atol=1e-6)


# --------------------------------------------------------------------------- several tasks

def test_labels_step_with_two_tasks_masks_ambiguous_labels_per_task(pieces, tmp_path):
    first = tmp_path / "a.bed"
    first.write_text("chr1\t120\t180\nchr1\t205\t215\n")   # [200,300) overlaps 10 bp
    second = tmp_path / "b.bed"
    second.write_text("chr1\t0\t100\n")
    rule = LabelRule(min_overlap_bp=50, exclude_ambiguous=True)
    out = tmp_path / "labels.npz"
    labels = build_labels(pieces["root"] / "windows" / "chr1.npz", [first, second],
                          pieces["fasta"], "chr1", out, length=LENGTH, rule=rule,
                          task_names=["A", "B"])
    with np.load(out) as archive:
        starts = archive["starts"].tolist()
        assert archive["tasks"].tolist() == ["A", "B"]
        assert archive["labels"].shape == (len(starts), 2)
        assert archive["peaks"].tolist() == [2, 1]
        assert read_drops(archive)["ambiguous_label"] == 0
        assert starts == expected_kept("chr1")          # no window dropped
    by_start = dict(zip(starts, labels.tolist()))
    assert by_start[0] == [0, 1]        # B: 100 bp
    assert by_start[50] == [-1, 1]      # A: 30 bp (ambiguous, masked); B: 50 bp
    assert by_start[100] == [1, 0]      # A: 60 bp
    assert by_start[150] == [-1, 0]     # A: 30 + 10 bp
    # a single task with the same rule drops the ambiguous windows instead
    single = build_labels(pieces["root"] / "windows" / "chr1.npz", first, pieces["fasta"], "chr1",
                          tmp_path / "one.npz", length=LENGTH, rule=rule)
    column = labels[:, 0]
    assert single.tolist() == column[column >= 0].tolist()
    with np.load(tmp_path / "one.npz") as archive:
        assert "tasks" not in archive and archive["labels"].dtype == np.uint8
        assert read_drops(archive)["ambiguous_label"] == int(np.count_nonzero(column < 0))


def test_labels_step_task_names_must_match_and_differ(pieces, tmp_path):
    peaks = pieces["peaks"]
    with pytest.raises(InputError, match="task names"):
        build_labels(pieces["root"] / "windows" / "chr1.npz", [peaks, peaks], pieces["fasta"],
                     "chr1", tmp_path / "x.npz", length=LENGTH, task_names=["A"])
    with pytest.raises(InputError, match="repeat"):
        build_labels(pieces["root"] / "windows" / "chr1.npz", [peaks, peaks], pieces["fasta"],
                     "chr1", tmp_path / "x.npz", length=LENGTH, task_names=["A", "A"])
