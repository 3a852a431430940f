"""Tests for tfbinding.dataset (and the chromosome.py steps that feed it) on a tiny genome.

The genome, peaks and blacklist are made by hand here; every expected value is computed
base by base in this file, independently of the package's numpy code.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tfbinding import load_dataset
from tfbinding.chromosome import (build_labels, build_onehot, build_windows, onehot_path, read_drops,
                                  window_starts_from_bed)
from tfbinding.dataset import Dataset, SplitSpec, assemble_dataset, split_windows
from tfbinding.errors import InputError
from tfbinding.genome import prepare_fasta
from tfbinding.ids import format_ids, parse_ids
from tfbinding.labels import LabelRule

LENGTH, STRIDE, FLANK, MAX_N = 100, 50, 20, 0.5
CHROMS = ["chr1", "chr2", "chr3"]


def make_sequences() -> dict[str, str]:
    rng = np.random.default_rng(42)
    seqs = {name: "".join(rng.choice(list("ACGT"), size)) for name, size in
            (("chr1", 1000), ("chr2", 600), ("chr3", 400))}
    chr1 = list(seqs["chr1"])
    chr1[300:380] = "N" * 80                               # an N run
    chr1[500:540] = [c.lower() for c in chr1[500:540]]     # soft-masked bases
    seqs["chr1"] = "".join(chr1)
    chr2 = list(seqs["chr2"])
    chr2[10:12] = ["R", "y"]                                # IUPAC codes
    seqs["chr2"] = "".join(chr2)
    return seqs


SEQUENCES = make_sequences()

# (chrom, start, end, summit offset) — 0-based half-open
PEAKS = [
    ("chr1", 120, 180, 30),
    ("chr1", 170, 260, -1),   # overlaps the first; merged [120, 260)
    ("chr1", 820, 830, 5),
    ("chr2", 0, 40, 10),
    ("chr2", 300, 400, 99),
    ("chr3", 100, 150, 0),
]
BLACKLIST = [("chr1", 700, 720)]


def write_fasta(path: Path, width: int = 60) -> None:
    lines = []
    for name, sequence in SEQUENCES.items():
        lines.append(f">{name}")
        lines.extend(sequence[i:i + width] for i in range(0, len(sequence), width))
    path.write_text("\n".join(lines) + "\n")


def write_peaks(path: Path) -> None:
    rows = ["track name=tiny type=narrowPeak"]
    rows += [f"{c}\t{s}\t{e}\tp{i}\t0\t.\t1.0\t1.0\t1.0\t{o}" for i, (c, s, e, o) in enumerate(PEAKS)]
    path.write_text("\n".join(rows) + "\n")


# --------------------------------------------------------------------------- brute-force truth

def coverage(chrom: str) -> np.ndarray:
    cov = np.zeros(len(SEQUENCES[chrom]), dtype=bool)
    for c, s, e, _ in PEAKS:
        if c == chrom:
            cov[s:e] = True
    return cov


def expected_kept(chrom: str) -> list[int]:
    """Tiled starts that fit, avoid the blacklist, and have at most MAX_N non-ACGT bases."""
    sequence = SEQUENCES[chrom]
    kept = []
    for start in range(0, len(sequence), STRIDE):
        if start + LENGTH > len(sequence):
            continue
        if any(c == chrom and start < e and s < start + LENGTH for c, s, e in BLACKLIST):
            continue
        window = sequence[start:start + LENGTH]
        if sum(b not in "ACGTacgt" for b in window) / LENGTH > MAX_N:
            continue
        kept.append(start)
    return kept


def expected_onehot(chrom: str, start: int) -> np.ndarray:
    sequence = SEQUENCES[chrom]
    rows = np.zeros((LENGTH + 2 * FLANK, 4), dtype=np.uint8)
    for i, pos in enumerate(range(start - FLANK, start + LENGTH + FLANK)):
        if 0 <= pos < len(sequence) and sequence[pos].upper() in "ACGT":
            rows[i, "ACGT".index(sequence[pos].upper())] = 1
    return rows


def parse_id(window_id: str) -> tuple[str, int, int]:
    chrom, span = window_id.split(":")
    start, end = span.split("-")
    return chrom, int(start), int(end)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def pieces(tmp_path_factory):
    """The per-chromosome windows and labels files, built by chromosome.py."""
    root = tmp_path_factory.mktemp("tiny")
    raw = root / "raw.fa"
    write_fasta(raw)
    fasta = root / "genome" / "genome.fa"
    prepare_fasta(raw, fasta)
    peaks = root / "peaks.narrowPeak"
    write_peaks(peaks)
    blacklist = root / "blacklist.bed"
    blacklist.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in BLACKLIST))
    labels, drops = [], {}
    for chrom in CHROMS:
        windows = root / "windows" / f"{chrom}.npz"
        drops[chrom] = build_windows(fasta, chrom, windows, length=LENGTH, stride=STRIDE,
                                     max_n_fraction=MAX_N, blacklist=blacklist)
        label_file = root / "labels" / f"{chrom}.npz"
        build_labels(windows, peaks, fasta, chrom, label_file, length=LENGTH)
        labels.append(label_file)
    return {"root": root, "fasta": fasta, "peaks": peaks, "blacklist": blacklist,
            "labels": labels, "drops": drops}


def build(pieces, work: Path, split: SplitSpec = SplitSpec(fractions=(0.6, 0.2, 0.2), seed=3),
          weights: str = "balanced", provenance: dict | None = None) -> dict:
    """split_windows -> build_onehot per chromosome -> assemble_dataset into work/dataset."""
    table = work / "split.npz"
    split_windows(CHROMS, pieces["labels"], table, length=LENGTH, flank=FLANK, split=split,
                  weights=weights)
    prefixes = [work / "onehot" / chrom for chrom in CHROMS]
    for chrom, prefix in zip(CHROMS, prefixes):
        written = build_onehot(table, pieces["fasta"], chrom, prefix)
        assert written == [onehot_path(prefix, s) for s in ("train", "valid", "test")]
    return assemble_dataset(table, prefixes, work / "dataset", provenance=provenance)


def all_ids(data: Dataset) -> list[str]:
    return [str(i) for name in ("train", "valid", "test") for i in getattr(data, name)["ids"]]


# --------------------------------------------------------------------------- chromosome steps

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
                  split=SplitSpec(fractions=(0.6, 0.2, 0.2), seed=3))
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

def test_random_split_dataset_contents(pieces, tmp_path):
    manifest = build(pieces, tmp_path)
    out = tmp_path / "dataset"
    data = load_dataset(out)
    assert isinstance(data, Dataset)
    assert data.manifest == manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest

    expected_windows = {(c, s) for c in CHROMS for s in expected_kept(c)}
    ids = all_ids(data)
    assert len(ids) == len(set(ids)) == len(expected_windows)
    assert {parse_id(i)[:2] for i in ids} == expected_windows

    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        X, y, w, split_ids = split["X"], split["y"], split["w"], split["ids"]
        n = len(split_ids)
        assert n > 0
        assert X.shape == (n, LENGTH + 2 * FLANK, 4) and X.dtype == np.uint8
        assert y.shape == (n, 1) and y.dtype == np.float32
        assert w.shape == (n, 1) and w.dtype == np.float32
        for row, window_id in enumerate(split_ids):
            chrom, start, end = parse_id(str(window_id))
            assert end - start == LENGTH
            assert np.array_equal(X[row], expected_onehot(chrom, start))
            assert y[row, 0] == float(coverage(chrom)[start:end].any())
        # balanced weights: each present class sums to n / 2 within the split
        for value in (0.0, 1.0):
            members = w[y == value]
            if members.size:
                assert members.sum(dtype=np.float64) == pytest.approx(n / 2, rel=1e-6)
        summary = manifest["splits"][name]
        assert summary["windows"] == n
        assert summary["positives"] == int(y.sum())
        assert summary["weight_sum_positive"] == pytest.approx(n / 2 if y.sum() else 0.0)

    positives = sum(int(getattr(data, s)["y"].sum()) for s in ("train", "valid", "test"))
    assert positives == sum(int(coverage(c)[s:s + LENGTH].any()) for c, s in expected_windows)
    assert manifest["window"] == {"length": 100, "flank": 20, "input_length": 140,
                                  "channels": "ACGT", "coordinates": "0-based, half-open (BED)"}
    assert manifest["totals"]["considered"] == 20 + 12 + 8
    assert manifest["totals"]["windows"] == len(expected_windows)
    assert manifest["totals"]["positives"] == positives
    assert manifest["totals"]["dropped"] == {"past_chrom_end": 3, "blacklist": 2, "n_fraction": 1,
                                             "ambiguous_label": 0}
    assert manifest["chromosomes"]["chr1"]["labelled"] == len(expected_kept("chr1"))
    assert manifest["chromosomes"]["chr1"]["peaks"] == 3
    assert repr(data).startswith("Dataset(") and "train=" in repr(data)
    # no partial folder is left beside the dataset
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "onehot", "split.npz"]


def test_random_split_is_stratified_and_reproducible(pieces, tmp_path):
    build(pieces, tmp_path / "a")
    build(pieces, tmp_path / "b")
    build(pieces, tmp_path / "c", split=SplitSpec(fractions=(0.6, 0.2, 0.2), seed=4))
    first, again, other = (load_dataset(tmp_path / n / "dataset") for n in ("a", "b", "c"))
    for name in ("train", "valid", "test"):
        assert getattr(first, name)["ids"].tolist() == getattr(again, name)["ids"].tolist()
        assert np.array_equal(getattr(first, name)["X"], getattr(again, name)["X"])
        # another seed: same class counts per split (stratified)
        assert getattr(first, name)["y"].sum() == getattr(other, name)["y"].sum()
        assert len(getattr(first, name)["y"]) == len(getattr(other, name)["y"])
    assert any(getattr(first, n)["ids"].tolist() != getattr(other, n)["ids"].tolist()
               for n in ("train", "valid", "test"))
    labels = np.concatenate([np.load(p)["labels"] for p in pieces["labels"]])
    positives, total = int(labels.sum()), len(labels)
    assert len(first.train["y"]) == round(0.6 * positives) + round(0.6 * (total - positives))


def test_chromosome_split(pieces, tmp_path):
    manifest = build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",),
                                                       test=("chr3",)))
    data = load_dataset(tmp_path / "dataset")
    assert {parse_id(str(i))[0] for i in data.train["ids"]} == {"chr1"}
    assert {parse_id(str(i))[0] for i in data.valid["ids"]} == {"chr2"}
    assert {parse_id(str(i))[0] for i in data.test["ids"]} == {"chr3"}
    assert manifest["splits"]["valid"]["windows"] == len(expected_kept("chr2"))
    assert manifest["split"]["valid"] == ["chr2"]
    # each split comes from one chromosome's file: X equals it exactly
    for name, chrom in (("train", "chr1"), ("valid", "chr2"), ("test", "chr3")):
        piece = onehot_path(tmp_path / "onehot" / chrom, name)
        assert np.array_equal(getattr(data, name)["X"], np.load(piece))
        # documented: a split made of one chromosome's file is hard-linked, not copied
        assert (tmp_path / "dataset" / name / "X.npy").stat().st_ino == piece.stat().st_ino


def test_chromosome_split_with_an_unknown_chromosome(pieces, tmp_path):
    with pytest.raises(InputError, match=r"chr9.*not among"):
        build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",),
                                                test=("chr9",)))
    assert not (tmp_path / "dataset").exists()
    assert not (tmp_path / "split.npz").exists()


def test_block_split_drops_windows_whose_flanked_span_crosses_a_block(pieces, tmp_path):
    block = 200
    manifest = build(pieces, tmp_path, split=SplitSpec(method="blocks", fractions=(0.6, 0.2, 0.2),
                                                       seed=0, block_size=block))
    data = load_dataset(tmp_path / "dataset")
    split_of_block: dict[tuple[str, int], str] = {}
    seen = set()
    for name in ("train", "valid", "test"):
        for row, window_id in enumerate(getattr(data, name)["ids"]):
            chrom, start, end = parse_id(str(window_id))
            # the flanked span lies in one block
            assert (start - FLANK) // block == (end + FLANK - 1) // block
            key = (chrom, start // block)
            assert split_of_block.setdefault(key, name) == name  # one split per block
            seen.add((chrom, start))
            assert np.array_equal(getattr(data, name)["X"][row], expected_onehot(chrom, start))
    # brute force: kept windows whose span [start - FLANK, start + LENGTH + FLANK) stays in a block
    expected = {(c, s) for c in CHROMS for s in expected_kept(c)
                if (s - FLANK) // block == (s + LENGTH + FLANK - 1) // block}
    assert seen == expected
    crossing = {c: sum(1 for s in expected_kept(c) if (c, s) not in expected) for c in CHROMS}
    for chrom in CHROMS:
        assert manifest["chromosomes"][chrom]["dropped"]["block_boundary"] == crossing[chrom]
    assert manifest["totals"]["dropped"]["block_boundary"] == sum(crossing.values())
    assert manifest["totals"]["windows"] == len(expected)


def test_uniform_weights(pieces, tmp_path):
    manifest = build(pieces, tmp_path, weights="none")
    data = load_dataset(tmp_path / "dataset")
    assert manifest["split"]["weights"] == "none"
    for name in ("train", "valid", "test"):
        assert np.all(getattr(data, name)["w"] == 1.0)


def test_empty_split_is_an_error_and_leaves_no_output(pieces, tmp_path):
    with pytest.raises(InputError, match=r"split 'valid' is empty"):
        build(pieces, tmp_path, split=SplitSpec(fractions=(1.0, 0.0, 0.0)))
    assert list(tmp_path.iterdir()) == []


def test_unknown_split_method(pieces, tmp_path):
    with pytest.raises(InputError, match="unknown method 'stripes'"):
        build(pieces, tmp_path, split=SplitSpec(method="stripes"))


def test_onehot_file_that_disagrees_with_the_split_table(pieces, tmp_path):
    build(pieces, tmp_path)
    piece = onehot_path(tmp_path / "onehot" / "chr2", "valid")
    np.save(piece, np.load(piece)[:-1])
    with pytest.raises(InputError, match=r"chr2.valid.npy: shape \(\d+, 140, 4\), but the split "
                                         r"table of chr2 needs"):
        assemble_dataset(tmp_path / "split.npz", [tmp_path / "onehot" / c for c in CHROMS],
                         tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_one_prefix_per_chromosome_is_required(pieces, tmp_path):
    build(pieces, tmp_path)
    with pytest.raises(InputError, match="lists 3 chromosomes but 2 one-hot prefixes"):
        assemble_dataset(tmp_path / "split.npz", [tmp_path / "onehot" / c for c in CHROMS[:2]],
                         tmp_path / "other")


def test_rebuilding_replaces_the_dataset_folder(pieces, tmp_path):
    build(pieces, tmp_path)
    out = tmp_path / "dataset"
    (out / "stale.txt").write_text("from an older build")
    build(pieces, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",)))
    assert not (out / "stale.txt").exists()
    assert load_dataset(out).manifest["split"]["method"] == "chromosome"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "onehot", "split.npz"]


def test_provenance_is_merged_into_the_manifest(pieces, tmp_path):
    manifest = build(pieces, tmp_path, provenance={"inputs": {"peaks": "p.bed"}})
    assert manifest["inputs"] == {"peaks": "p.bed"}
    assert "numpy" in manifest["versions"]


def test_load_dataset_without_manifest(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(InputError, match="no manifest.json"):
        load_dataset(tmp_path)


# --------------------------------------------------------------------------- ids

def test_format_ids_equals_f_strings_and_parse_ids_inverts_it():
    starts = np.array([0, 9, 10, 99, 100, 999_999, 1_000_000, 5], dtype=np.int64)
    ends = starts + np.array([1, 1, 90, 1, 900, 1, 7, 123_456_789])
    ids = format_ids("chr22", starts, ends)
    assert ids.tolist() == [f"chr22:{s}-{e}" for s, e in zip(starts.tolist(), ends.tolist())]
    chroms, parsed_starts, parsed_ends = parse_ids(ids)
    assert chroms.tolist() == ["chr22"] * len(starts)
    assert parsed_starts.tolist() == starts.tolist()
    assert parsed_ends.tolist() == ends.tolist()
    assert format_ids("chrM", np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)
