"""Variant scoring with the scan engine (the shifted windows of an allele scanned at once)
equals per-window scoring; on the demo genome, each indel's and MNV's delta equals a
brute-force rescoring of its two windows sliced by hand from the FASTA."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from conftest import DEMO
from tfbinding.config import TrainingConfig
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.interpret.score_variants import score_vcf
from tfbinding.models.motif_baseline import log_odds, read_jaspar

LENGTH = 100
MOTIF = DEMO.parent / "motifs" / "MA0491.3.jaspar"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo genome (prepared), its chr1 as a string, and an untrained motif-informed
    ``improved`` model of a 100-bp input (seeded), saved."""
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow

    folder = tmp_path_factory.mktemp("demo_scan")
    prepare_fasta(DEMO / "synthetic_genome.fa.gz", folder / "genome.fa")
    text = gzip.decompress((DEMO / "synthetic_genome.fa.gz").read_bytes()).decode()
    chromosomes = {}
    for block in text.split(">")[1:]:
        name, *lines = block.split("\n")
        chromosomes[name.split()[0]] = "".join(lines)
    configure_tensorflow(0)
    _, counts = read_jaspar(MOTIF)
    model = build_model("improved", LENGTH, TrainingConfig(seed=0), pwm=log_odds(counts), prior=0.2)
    (folder / "model").mkdir()
    model.save(folder / "model" / "model.keras")
    return {"folder": folder, "fasta": folder / "genome.fa", "chromosomes": chromosomes,
            "model": folder / "model"}


def demo_records(chromosomes: dict[str, str]) -> list[tuple[str, int, str, str, str]]:
    """The demo VCF's records, and, at its first site-breaking SNVs (planted TGACTCA
    sites, the SNV at the site's G), a deletion of the site's core, an insertion into it,
    an MNV and a long deletion."""
    records, made = [], []
    for line in (DEMO / "synthetic_variants.vcf").read_text().splitlines():
        if line.startswith("#"):
            continue
        chrom, pos, name, ref, alt = line.split("\t")[:5]
        records.append((chrom, int(pos), name, ref, alt))
    sites = [r for r in records if "_site" in r[2]][:3]
    for k, (chrom, pos, _, _, _) in enumerate(sites):
        seq = chromosomes[chrom]
        p = pos - 1  # the site's G (TGACTCA: T at p - 1)
        made += [(chrom, pos - 2, f"del{k}", seq[p - 2:p + 2], seq[p - 2]),                 # anchor + GAC
                 (chrom, pos + 1, f"ins{k}", seq[p + 1], seq[p + 1] + "GGATCC"),
                 (chrom, pos, f"mnv{k}", seq[p:p + 3], "CTT"),
                 (chrom, pos - 21, f"longdel{k}", seq[p - 21:p + 30], seq[p - 21])]
    return records + [r for r in made if r[3].upper() != r[4].upper()]


def brute_window(chromosome: str, pos0: int, ref: str, allele: str, length: int, shift: int) -> str:
    """The documented centring rule, by hand: the haplotype with the allele in place, then
    ``length`` bases from ``pos0 + len(allele) // 2 - length // 2 + shift`` ('.' outside)."""
    pad = "." * (length + len(allele) + abs(shift))
    haplotype = pad + chromosome[:pos0] + allele + chromosome[pos0 + len(ref):] + pad
    start = len(pad) + pos0 + len(allele) // 2 - length // 2 + shift
    return haplotype[start:start + length]


def encode(text: str) -> np.ndarray:
    return np.array([[float(b.upper() == c) for c in "ACGT"] for b in text], dtype=np.float32)


def read_rows(path) -> list[dict]:
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("shifts", [0, 2])
def test_scan_equals_per_window_scoring(demo, tmp_path, shifts):
    records = sorted(demo_records(demo["chromosomes"]), key=lambda r: (r[0], r[1]))
    vcf = tmp_path / "v.vcf"
    vcf.write_text(HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in records))
    tables = {}
    for engine in ("scan", "per_window"):
        summary = score_vcf(demo["model"], vcf, demo["fasta"], tmp_path / f"{engine}.tsv",
                            tmp_path / f"{engine}.vcf.gz", rc_average=True, shifts=shifts, engine=engine,
                            null_size=200, null_seed=3)
        assert summary["engine"] == engine
        tables[engine] = read_rows(tmp_path / f"{engine}.tsv")
    for column in ("ref_score", "alt_score", "delta"):
        scan = np.array([float(row[column]) for row in tables["scan"]])
        window = np.array([float(row[column]) for row in tables["per_window"]])
        np.testing.assert_allclose(scan, window, atol=2e-5, err_msg=column)


def test_each_demo_indel_delta_equals_a_brute_force_rescoring(demo, tmp_path):
    from tfbinding.models.inference import load_model, predict_probabilities

    chromosomes = demo["chromosomes"]
    records = sorted(demo_records(chromosomes), key=lambda r: (r[0], r[1]))
    vcf = tmp_path / "v.vcf"
    vcf.write_text(HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in records))
    summary = score_vcf(demo["model"], vcf, demo["fasta"], tmp_path / "m.tsv", tmp_path / "m.vcf.gz",
                        rc_average=True, shifts=1)
    assert summary["engine"] == "scan" and summary["kinds"]["indel"] >= 9 and summary["kinds"]["mnv"] >= 3
    model = load_model(demo["model"])
    rows = {row["id"]: row for row in read_rows(tmp_path / "m.tsv")}
    checked = 0
    for chrom, pos, name, ref, alt in records:
        if len(ref) == len(alt) == 1:
            continue
        row = rows[name]
        assert row["kind"] == ("mnv" if len(ref) == len(alt) else "indel")
        scores = []
        for allele in (ref, alt):
            X = np.stack([encode(brute_window(chromosomes[chrom], pos - 1, ref, allele, LENGTH, s))
                          for s in (-1, 0, 1)])
            scores.append(float(predict_probabilities(model, X, True).mean()))
        assert float(row["ref_score"]) == pytest.approx(scores[0], rel=1e-4, abs=2e-6), name
        assert float(row["alt_score"]) == pytest.approx(scores[1], rel=1e-4, abs=2e-6), name
        assert float(row["delta"]) == pytest.approx(scores[1] - scores[0], rel=1e-3, abs=4e-6), name
        checked += 1
    assert checked >= 12


def test_patterns_and_predicted_sites_annotate_the_variants(demo, tmp_path):
    import pysam

    records = [r for r in demo_records(demo["chromosomes"]) if "_del" not in r[2]]
    records = sorted(records, key=lambda r: (r[0], r[1]))
    vcf = tmp_path / "v.vcf"
    vcf.write_text(HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in records))
    eye = {b: np.eye(4)[k] for k, b in enumerate("ACGT")}
    ppm = np.array([eye[b] * 0.97 + 0.0075 for b in "GGTGACTCATCC"])  # AP-1 with a 2-bp flank
    gata = np.array([eye[b] * 0.97 + 0.0075 for b in "AGATAAGG"])
    np.savez(tmp_path / "patterns.npz", pattern_1_ppm=ppm, pattern_1_trim=np.array([2, 9]),
             pattern_2_ppm=gata, pattern_2_trim=np.array([0, 6]))
    site = next(r for r in records if "_site" in r[2])
    other = next(r for r in records if r[0] != site[0])
    sites = tmp_path / "sites.narrowPeak"
    sites.write_text(f"{site[0]}\t{site[1] - 50}\t{site[1] + 50}\tsite\t0\t.\t1\t-1\t-1\t50\n")
    score_vcf(demo["model"], vcf, demo["fasta"], tmp_path / "m.tsv", tmp_path / "m.vcf.gz", rc_average=True,
              motif=MOTIF, patterns=[tmp_path / "patterns.npz"], sites=sites, sites_chromosomes=[site[0]])
    rows = {row["id"]: row for row in read_rows(tmp_path / "m.tsv")}
    columns = list(next(iter(rows.values())))
    assert columns[-9:] == ["motif_ref", "motif_alt", "motif_effect", "pattern_ref", "pattern_alt",
                            "pattern_effect", "in_peak", "in_site", "flag"]
    summary = __import__("json").loads((tmp_path / "m.summary.json").read_text())
    assert [p["name"] for p in summary["patterns"]] == ["pattern_1", "pattern_2"]
    for chrom, pos, name, ref, _ in records:
        row = rows[name]
        effects = row["pattern_effect"].split(",")
        assert len(effects) == 2 and len(row["pattern_ref"].split(",")) == 2
        if "_site" in name:  # TGACTCA -> TCACTCA breaks the AP-1 pattern, as it breaks the matrix
            assert effects[0] == "broken"
        overlaps = pos - 1 < site[1] + 50 and pos - 1 + len(ref) > site[1] - 50
        assert row["in_site"] == ("." if chrom != site[0] else "1" if overlaps else "0"), name
    assert rows[other[2]]["in_site"] == "."
    background = [rows[r[2]]["pattern_effect"].split(",")[0] for r in records if "_bg" in r[2]]
    assert background.count("broken") <= len(background) // 10
    with pysam.VariantFile(str(tmp_path / "m.vcf.gz")) as handle:
        by_id = {record.id: record for record in handle}
    assert "TFB_IN_SITE" in by_id[site[2]].info and "TFB_IN_SITE" not in by_id[other[2]].info
    assert by_id[site[2]].info["TFB_PATTERN_EFFECT"][0].split("|")[0] == "broken"
    assert len(by_id[site[2]].info["TFB_PATTERN_REF"].split("|")) == 2
