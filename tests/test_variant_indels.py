"""Indels and multi-base variants: windows against a brute-force rebuild from strings, and
each indel's delta against a brute-force rescoring of its two windows."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from helpers import LENGTH, save_motif_model
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.errors import InputError
from tfbinding.interpret.score_variants import score_vcf
from tfbinding.interpret.variant_windows import allele_windows

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=3000>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def brute_window(chromosome: str, pos0: int, ref: str, allele: str, length: int, shift: int = 0) -> str:
    """The window, as a string ('.' outside the chromosome), built the slow way: the whole
    haplotype with the allele in place, then its slice centred on the allele's midpoint."""
    pad = "." * (length + len(allele) + abs(shift) + 10)
    haplotype = pad + chromosome[:pos0] + allele + chromosome[pos0 + len(ref):] + pad
    centre = len(pad) + pos0 + len(allele) // 2 + shift
    return haplotype[centre - length // 2:centre - length // 2 + length]


def encode(text: str) -> np.ndarray:
    return np.array([[float(b.upper() == c) for c in "ACGT"] for b in text], dtype=np.uint8)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    folder = tmp_path_factory.mktemp("indels")
    rng = np.random.default_rng(3)
    sequence = "".join(rng.choice(list("ACGT"), 3000))
    sequence = sequence[:1000] + "TGACTCA" + sequence[1007:2000] + "acgtNNNNacgt" + sequence[2012:]
    (folder / "genome.fa").write_text(f">chr1\n{sequence}\n")
    prepare_fasta(folder / "genome.fa", folder / "prepared.fa")
    return {"folder": folder, "sequence": sequence, "fasta": folder / "prepared.fa",
            "model": save_motif_model(folder / "model")}


CASES = [  # (0-based pos, REF length, ALT)
    (500, 1, "G"), (500, 3, "A"), (500, 1, "ACGTACGT"), (1000, 2, "TT"), (1003, 1, ""),
    (5, 4, "C"), (2, 1, "GGGGGGGGGGGGGGGGGGGGG"), (2990, 9, "T"), (2995, 1, "CATCAT"),
    (1998, 5, "A"), (700, 1, "A" * 150), (1001, 6, "G"),
]


@pytest.mark.parametrize("shift", [0, 2, -3])
def test_windows_match_a_brute_force_rebuild(genome, shift):
    sequence = genome["sequence"]
    raw = np.frombuffer(sequence.encode(), np.uint8)
    for length in (LENGTH, 61, 9):
        for pos0, r, alt in CASES:
            ref = sequence[pos0:pos0 + r]
            for allele in (ref, alt or ref[:1]):
                got = allele_windows(raw, np.array([pos0]), np.array([r]), [allele], length, shift)[0]
                expected = encode(brute_window(sequence, pos0, ref, allele, length, shift))
                np.testing.assert_array_equal(got, expected, err_msg=f"{pos0} {ref}>{allele} L={length}")


def test_each_indel_delta_equals_a_brute_force_rescoring(genome, tmp_path):
    from tfbinding.models.inference import load_model, predict_probabilities

    sequence = genome["sequence"]
    records = []
    for number, (pos0, r, alt) in enumerate(CASES):
        ref = sequence[pos0:pos0 + r]
        alt = alt or ref[:1]
        if alt == ref:
            continue
        records.append((pos0 + 1, f"v{number}", ref, alt))
    records += [(1002, "del_site", sequence[1001:1004], sequence[1001]),  # deletes GAC of TGACTCA
                (1004, "ins_site", sequence[1003], sequence[1003] + "GGG")]
    records.sort()
    vcf = tmp_path / "indels.vcf"
    vcf.write_text(HEADER + "".join(f"chr1\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for p, i, r, a in records))
    out = tmp_path / "out"
    summary = score_vcf(genome["model"], vcf, genome["fasta"], out / "m.tsv", out / "m.vcf.gz",
                        rc_average=True, shifts=1)
    assert summary["kinds"]["indel"] >= 8 and summary["scored"] == len(records)
    with open(out / "m.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    model = load_model(genome["model"])
    for (pos, name, ref, alt), row in zip(records, rows, strict=True):
        assert row["id"] == name and row["kind"] == ("snv" if len(ref) == len(alt) == 1 else
                                                     "mnv" if len(ref) == len(alt) else "indel")
        scores = []
        for allele in (ref, alt):
            X = np.stack([encode(brute_window(sequence, pos - 1, ref, allele, LENGTH, s)) for s in (-1, 0, 1)])
            scores.append(predict_probabilities(model, X, True).mean())
        assert float(row["ref_score"]) == pytest.approx(scores[0], rel=1e-5, abs=1e-6)
        assert float(row["alt_score"]) == pytest.approx(scores[1], rel=1e-5, abs=1e-6)
        assert float(row["delta"]) == pytest.approx(scores[1] - scores[0], rel=1e-4, abs=1e-6)
    by_id = {row["id"]: row for row in rows}
    assert float(by_id["del_site"]["delta"]) < -0.5  # the site is broken by the deletion


def test_a_multi_base_ref_is_checked_against_the_genome(genome, tmp_path):
    sequence = genome["sequence"]
    wrong = sequence[99] + ("A" if sequence[100] != "A" else "C")
    vcf = tmp_path / "wrong.vcf"
    vcf.write_text(HEADER + f"chr1\t100\tbad\t{wrong}\t{sequence[99]}\t.\t.\t.\n")
    with pytest.raises(InputError, match=rf"chr1:100 \(bad\) {wrong}>.*the FASTA has {sequence[99:101].upper()}"):
        score_vcf(genome["model"], vcf, genome["fasta"], tmp_path / "m.tsv", tmp_path / "m.vcf.gz")
    past = tmp_path / "past.vcf"
    past.write_text(HEADER + f"chr1\t2999\tlong\t{sequence[2998:3000]}A\tA\t.\t.\t.\n")
    with pytest.raises(InputError, match="long.*past the end of chr1"):
        score_vcf(genome["model"], past, genome["fasta"], tmp_path / "m.tsv", tmp_path / "m.vcf.gz")
    symbolic = tmp_path / "symbolic.vcf"
    symbolic.write_text(HEADER + f"chr1\t100\tsv\t{sequence[99]}\t<DEL>\t.\t.\t.\n"
                        f"chr1\t200\tstar\t{sequence[199]}\t*,{'A' if sequence[199] != 'A' else 'C'}\t.\t.\t.\n")
    summary = score_vcf(genome["model"], symbolic, genome["fasta"], tmp_path / "s.tsv", tmp_path / "s.vcf.gz")
    assert summary["skipped"]["symbolic"] == 2 and summary["scored"] == 1
