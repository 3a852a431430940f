"""Variant scoring on a small planted genome with the hand-made AP-1 model of
``test_attribution`` (logit +4 with a TGACTCA/TGAGTCA site in the window, -4 without)."""
from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pysam
import pytest
from sklearn.metrics import roc_auc_score

from helpers import save_motif_model
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.errors import InputError
from tfbinding.interpret.score_variants import TSV_COLUMNS, log2_odds_ratio, score_vcf

SITES = ("TGACTCA", "TGAGTCA")
HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=30000>\n##contig=<ID=chr2,length=10000>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A two-chromosome genome with 50 planted sites, its prepared FASTA, the model, and
    variants: one breaking each site (its first T) and 100 background SNVs >= 50 bp away
    from any site."""
    folder = tmp_path_factory.mktemp("planted")
    rng = np.random.default_rng(7)
    genome, sites = {}, []
    for chrom, size, count in (("chr1", 30000, 40), ("chr2", 10000, 10)):
        sequence = rng.choice(np.frombuffer(b"ACGT", np.uint8), size)
        starts = np.sort(rng.choice(np.arange(100, size - 100, 150), count, replace=False))
        for start in starts:
            sequence[start:start + 7] = np.frombuffer(SITES[len(sites) % 2].encode(), np.uint8)
            sites.append((chrom, int(start)))
        genome[chrom] = sequence.tobytes().decode()
    (folder / "genome.fa").write_text("".join(f">{c}\n{s}\n" for c, s in genome.items()))
    prepare_fasta(folder / "genome.fa", folder / "prepared.fa")
    variants = []  # (chrom, 1-based pos, id, ref, alt, breaks a site)
    for number, (chrom, start) in enumerate(sites):
        variants.append((chrom, start + 1, f"break{number}", "T", "C", True))
    near = {(chrom, p) for chrom, start in sites for p in range(start - 50, start + 57)}
    while len(variants) < len(sites) + 100:
        chrom = "chr1" if rng.random() < 0.75 else "chr2"
        position = int(rng.integers(60, len(genome[chrom]) - 60))
        if (chrom, position) in near:
            continue
        ref = genome[chrom][position]
        alt = "ACGT"[("ACGT".index(ref) + 1 + int(rng.integers(0, 3))) % 4]
        variants.append((chrom, position + 1, f"bg{len(variants)}", ref, alt, False))
    variants.sort(key=lambda v: (v[0], v[1]))
    vcf = folder / "variants.vcf"
    vcf.write_text(HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n"
                                    for c, p, i, r, a, _ in variants))
    return {"folder": folder, "fasta": folder / "prepared.fa", "genome": genome, "vcf": vcf,
            "variants": variants, "model": save_motif_model(folder / "model")}


def flip(bases):
    """Each base replaced by the next of A, C, G, T."""
    return "".join("ACGT"[("ACGT".index(b.upper()) + 1) % 4] for b in bases)


def read_tsv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def score(planted, tmp_path, vcf=None, **options):
    out = tmp_path / "variants"
    summary = score_vcf(planted["model"], vcf or planted["vcf"], planted["fasta"], out / "m.tsv",
                        out / "m.vcf.gz", **options)
    return summary, read_tsv(out / "m.tsv"), out


def test_breaking_variants_rank_above_background(planted, tmp_path):
    summary, rows, _ = score(planted, tmp_path, rc_average=True)
    assert summary["scored"] == len(planted["variants"]) == len(rows)
    breaks = {v[2] for v in planted["variants"] if v[5]}
    labels = np.array([row["id"] in breaks for row in rows])
    delta = np.array([float(row["delta"]) for row in rows])
    assert roc_auc_score(labels, np.abs(delta)) >= 0.9
    ref_score = np.array([float(row["ref_score"]) for row in rows])
    np.testing.assert_allclose(ref_score[labels], 1 / (1 + np.exp(-4)), rtol=1e-4)
    np.testing.assert_allclose(delta[labels], 1 / (1 + np.exp(4)) - 1 / (1 + np.exp(-4)), rtol=1e-4)


def test_table_and_annotated_vcf(planted, tmp_path):
    summary, rows, out = score(planted, tmp_path)
    assert list(rows[0]) == list(TSV_COLUMNS)
    first = planted["variants"][0]
    assert (rows[0]["chrom"], int(rows[0]["pos"]), rows[0]["id"], rows[0]["ref"]) == first[:4]
    assert planted["genome"][first[0]][first[1] - 1] == first[3]  # pos is 1-based
    for row in rows:
        expected = log2_odds_ratio(np.array([float(row["ref_score"])]), np.array([float(row["alt_score"])]))
        assert float(row["log2_odds_ratio"]) == pytest.approx(expected[0], rel=1e-4, abs=1e-5)
        assert row["flag"] == "."
    assert (out / "m.vcf.gz.tbi").exists()
    assert json.loads((out / "m.summary.json").read_text())["scored"] == summary["scored"]
    by_id = {row["id"]: row for row in rows}
    with pysam.VariantFile(str(out / "m.vcf.gz")) as annotated:
        records = list(annotated.fetch("chr2"))  # through the tabix index
        assert records and all(record.contig == "chr2" for record in records)
        for record in records:
            row = by_id[record.id]
            assert record.info["TFB_REF"] == pytest.approx(float(row["ref_score"]), rel=1e-5)
            assert record.info["TFB_DELTA"][0] == pytest.approx(float(row["delta"]), rel=1e-5, abs=1e-6)


def test_multiallelic_sites_are_split_and_other_kinds_counted(planted, tmp_path):
    genome = planted["genome"]
    base = genome["chr1"][999]
    others = [b for b in "ACGT" if b != base]
    lines = [
        f"chr1\t1000\tmulti\t{base}\t{others[0]},{others[1]},<DEL>\t.\t.\tDP=5",
        f"chr1\t2000\tindel\t{genome['chr1'][1999:2001]}\t{genome['chr1'][1999]}\t.\t.\t.",
        f"chr1\t3000\tmnv\t{genome['chr1'][2999:3001]}\t{flip(genome['chr1'][2999:3001])}\t.\t.\t.",
        f"chr1\t3500\tmnvN\t{genome['chr1'][3499:3501]}\tNN\t.\t.\t.",
        f"chr1\t4000\tstar\t{genome['chr1'][3999]}\t*\t.\t.\t.",
        f"chr1\t5000\tnoalt\t{genome['chr1'][4999]}\t.\t.\t.\t.",
        f"chr1\t6000\tambiguous\t{genome['chr1'][5999]}\tN\t.\t.\t.",
        "chrUn\t10\tlost\tA\tC\t.\t.\t.",
        "chrUn\t20\tlost2\tA\tC\t.\t.\t.",
    ]
    vcf = tmp_path / "kinds.vcf"
    vcf.write_text(HEADER + "\n".join(lines) + "\n")
    summary, rows, out = score(planted, tmp_path, vcf=vcf)
    assert [(row["id"], row["alt"]) for row in rows][:2] == [("multi", others[0]), ("multi", others[1])]
    assert [(row["id"], row["kind"]) for row in rows][1:] == [("multi", "snv"), ("indel", "indel"),
                                                              ("mnv", "mnv")]
    assert rows[0]["ref_score"] == rows[1]["ref_score"]
    assert summary["skipped"] == {"symbolic": 2, "no_alt": 1, "non_acgt": 2, "missing_chromosome": 2}
    assert summary["kinds"] == {"snv": 2, "mnv": 1, "indel": 1}
    assert summary["missing_chromosomes"] == {"chrUn": 2}
    assert summary["records"] == 9 and summary["alleles"] == 11
    with gzip.open(out / "m.vcf.gz", "rt") as handle:
        text = handle.read()
    multi = next(line for line in text.splitlines() if "\tmulti\t" in line)
    assert "DP=5;TFB_REF=" in multi
    info = dict(item.partition("=")[::2] for item in multi.split("\t")[7].split(";"))
    assert info["TFB_ALT"].count(",") == 2 and info["TFB_ALT"].endswith(",.")
    indel = next(line for line in text.splitlines() if "\tindel\t" in line)
    assert "TFB_DELTA=" in indel  # indels are scored now
    star = next(line for line in text.splitlines() if "\tstar\t" in line)
    assert "TFB_" not in star  # copied unchanged


def test_ref_mismatch_is_an_error_unless_allowed(planted, tmp_path):
    genome = planted["genome"]
    ref = genome["chr1"][499]
    wrong = "ACGT"[("ACGT".index(ref) + 1) % 4]
    alt = "ACGT"[("ACGT".index(ref) + 2) % 4]
    vcf = tmp_path / "mismatch.vcf"
    vcf.write_text(HEADER + f"chr1\t500\trsWrong\t{wrong}\t{alt}\t.\t.\t.\n"
                            f"chr1\t600\tfine\t{genome['chr1'][599].lower()}\t{alt}\t.\t.\t.\n")
    with pytest.raises(InputError, match=rf"chr1:500 \(rsWrong\) {wrong}>{alt}: the FASTA has {ref}"):
        score(planted, tmp_path, vcf=vcf)
    assert not (tmp_path / "variants" / "m.tsv").exists()
    summary, rows, out = score(planted, tmp_path, vcf=vcf, allow_ref_mismatch=True)
    assert [row["flag"] for row in rows] == ["ref_mismatch", "."]
    assert summary["ref_mismatches"] == 1
    with gzip.open(out / "m.vcf.gz", "rt") as handle:
        flagged = [line for line in handle if "TFB_REF_MISMATCH" in line and not line.startswith("#")]
    assert len(flagged) == 1 and "rsWrong" in flagged[0]


def test_bgzipped_input_and_unsorted_input(planted, tmp_path):
    _, expected, _ = score(planted, tmp_path / "plain")
    bgzipped = tmp_path / "variants.vcf.gz"
    pysam.tabix_compress(str(planted["vcf"]), str(bgzipped))
    pysam.tabix_index(str(bgzipped), preset="vcf")
    _, rows, _ = score(planted, tmp_path / "bgzip", vcf=bgzipped)
    assert rows == expected
    lines = planted["vcf"].read_text().splitlines(keepends=True)
    body = [line for line in lines if not line.startswith("#")]
    unsorted = tmp_path / "unsorted.vcf"
    unsorted.write_text("".join(line for line in lines if line.startswith("#")) + "".join(body[::-1]))
    summary, rows, out = score(planted, tmp_path / "unsorted", vcf=unsorted)
    assert not summary["input_sorted"]
    assert sorted(rows, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    with pysam.VariantFile(str(out / "m.vcf.gz")) as annotated:
        assert len(list(annotated.fetch("chr1"))) == sum(v[0] == "chr1" for v in planted["variants"])


def test_chromosome_names_and_positions(planted, tmp_path):
    ensembl = tmp_path / "ensembl.vcf"
    ensembl.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                       f"1\t101\tx\t{planted['genome']['chr1'][100]}\tN\t.\t.\t.\n"
                       f"1\t201\ty\t{planted['genome']['chr1'][200]}\t"
                       f"{'A' if planted['genome']['chr1'][200] != 'A' else 'C'}\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"no variant is on a chromosome of the FASTA.*'1': 'chr1'"):
        score(planted, tmp_path, vcf=ensembl)
    summary, rows, _ = score(planted, tmp_path, vcf=ensembl, aliases={"1": "chr1"})
    assert [row["chrom"] for row in rows] == ["1"] and summary["skipped"]["non_acgt"] == 1
    past = tmp_path / "past.vcf"
    past.write_text(HEADER + "chr2\t10001\tbeyond\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match="beyond.*past the end of chr2"):
        score(planted, tmp_path, vcf=past)


def test_positions_below_one_or_past_the_end_are_refused_with_the_line(planted, tmp_path):
    """VCF POS is 1-based: POS 1 and POS = the chromosome's length are the edges; 0 and
    length + 1 are refused before the REF check (issue 22)."""
    genome = planted["genome"]
    last = len(genome["chr2"])
    edges = tmp_path / "edges.vcf"
    first_alt = "A" if genome["chr1"][0] != "A" else "C"
    last_alt = "A" if genome["chr2"][-1] != "A" else "C"
    edges.write_text(HEADER + f"chr1\t1\tfirst\t{genome['chr1'][0]}\t{first_alt}\t.\t.\t.\n"
                     f"chr2\t{last}\tlast\t{genome['chr2'][-1]}\t{last_alt}\t.\t.\t.\n")
    summary, rows, _ = score(planted, tmp_path / "edges", vcf=edges)
    assert summary["scored"] == 2 and [row["id"] for row in rows] == ["first", "last"]
    for name, line in (("zero", f"chr1\t0\tzero\t{genome['chr1'][-1]}\tC\t.\t.\t.\n"),
                       ("beyond", f"chr2\t{last + 1}\tbeyond\tA\tC\t.\t.\t.\n")):
        bad = tmp_path / f"{name}.vcf"
        bad.write_text(HEADER + f"chr1\t5\tok\t{genome['chr1'][4]}\t{first_alt}\t.\t.\t.\n" + line)
        with pytest.raises(InputError, match=rf"{name}.vcf, line 6: POS {0 if name == 'zero' else last + 1}"
                                             r".*(below 1|past the end of chr2)") as error:
            score(planted, tmp_path / name, vcf=bad)
        assert "\n" not in str(error.value) and "mismatch" not in str(error.value)
    indel = tmp_path / "indel0.vcf"
    indel.write_text(HEADER + "chr1\t0\tdel\tAC\tA\t.\t.\t.\n")
    with pytest.raises(InputError, match="line 5: POS 0"):
        score(planted, tmp_path / "indel0", vcf=indel)


def test_a_vcf_without_records_gives_empty_outputs(planted, tmp_path):
    empty = tmp_path / "empty.vcf"
    empty.write_text(HEADER)
    summary, rows, out = score(planted, tmp_path, vcf=empty)
    assert rows == [] and summary["records"] == summary["scored"] == 0
    assert (out / "m.tsv").read_text().split("\n")[0].split("\t") == list(TSV_COLUMNS)
    assert json.loads((out / "m.summary.json").read_text())["scored"] == 0
    with pysam.VariantFile(str(out / "m.vcf.gz")) as annotated:
        assert "TFB_REF" in annotated.header.info and list(annotated.fetch("chr1")) == []


def test_task_names_and_paths_cannot_break_vcf_or_table_lines(planted, tmp_path):
    """Issue 22: task names go into INFO descriptions and TSV headers; the model path into a
    quoted header value: control characters are refused, a quote is escaped."""
    from tfbinding.interpret.score_variants import tsv_columns
    from tfbinding.io.vcf import info_lines

    for task in ("JUND\n##INFO=<ID=X>", "a\tb", "a\rb"):
        with pytest.raises(InputError, match="task.*control character"):
            info_lines(["ok", task])
        with pytest.raises(InputError, match="task.*control character"):
            tsv_columns(["ok", task])
    assert info_lines(["ok", 'a"b'])[8].endswith('with REF, task a\\"b">')
    quoted = tmp_path / 'my "model"'
    quoted.mkdir()
    (quoted / "model.keras").write_bytes((planted["model"] / "model.keras").read_bytes())
    out = tmp_path / "variants"
    score_vcf(quoted, planted["vcf"], planted["fasta"], out / "m.tsv", out / "m.vcf.gz")
    with pysam.VariantFile(str(out / "m.vcf.gz")) as annotated:
        assert len(list(annotated)) == len(planted["variants"])
        note = [r for r in annotated.header.records if r.key == "tfbinding_variants"]
        assert len(note) == 1 and 'my \\"model\\"' in str(note[0])
