"""The null of variant scoring (p-values, percentiles, q-values against brute force), the
annotation (motif broken/created/untouched, peaks), model averaging and the logos."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pysam
import pytest

from helpers import save_motif_model
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.interpret.score_variants import score_vcf
from tfbinding.interpret.variant_annotation import best_overlapping_match, motif_effects, score_threshold
from tfbinding.interpret.variant_null import (
    benjamini_hochberg,
    draw_background_snvs,
    empirical_pvalues,
    strata_edges,
    stratum,
)

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
AP1 = ">MA_TEST AP1\nA [ 0 0 100 0 0 0 100 ]\nC [ 0 0 0 100 0 100 0 ]\nG [ 0 100 0 0 0 0 0 ]\nT [ 100 0 0 0 100 0 0 ]\n"


def test_pvalues_and_percentiles_equal_a_brute_force_count():
    rng = np.random.default_rng(0)
    null, stat = rng.exponential(size=500), rng.exponential(size=60) * 1.5
    null_gc, gc = rng.random(500), rng.random(60)
    edges = strata_edges(null_gc)
    assert len(edges) == 4  # 500 // 100 = 5 strata
    p, pct = empirical_pvalues(stat, null, stratum(gc, edges), stratum(null_gc, edges))
    for i in range(60):
        same = [null[j] for j in range(500) if stratum(null_gc[j:j + 1], edges)[0] == stratum(gc[i:i + 1], edges)[0]]
        assert p[i] == pytest.approx((1 + sum(v >= stat[i] for v in same)) / (1 + len(same)))
        assert pct[i] == pytest.approx(100 * sum(v < stat[i] for v in same) / len(same))
    # variants drawn like the null have uniform p-values
    from scipy.stats import kstest
    p_null, _ = empirical_pvalues(rng.exponential(size=2000), rng.exponential(size=5000))
    assert kstest(p_null, "uniform").pvalue > 0.01


def test_benjamini_hochberg_equals_the_definition():
    rng = np.random.default_rng(1)
    p = np.concatenate((rng.random(40), [np.nan], rng.random(10) * 1e-3))
    q = benjamini_hochberg(p)
    valid = ~np.isnan(p)
    m = valid.sum()
    for i in np.flatnonzero(valid):
        expected = min(min(p[j] * m / (np.sum(p[valid] <= p[j])) for j in np.flatnonzero(valid) if p[j] >= p[i]), 1)
        assert q[i] == pytest.approx(expected)
    assert np.isnan(q[40])


def test_motif_effects_on_hand_made_alleles(tmp_path):
    (tmp_path / "ap1.jaspar").write_text(AP1)
    from tfbinding.interpret.variant_annotation import read_motif
    _, pwm = read_motif(tmp_path / "ap1.jaspar")
    sequence = np.frombuffer(b"CCCCCCCCCCTGACTCACCCCCCCCCCCCCCCCCCCCCCCCCCC", np.uint8)
    cases = [(10, 1, "C"), (13, 1, "A"), (25, 1, "T"), (25, 1, "TGACTCA"), (18, 1, "A"), (12, 3, "A")]
    scores = best_overlapping_match(sequence, np.array([c[0] for c in cases]), np.array([c[1] for c in cases]),
                                    [c[2] for c in cases], pwm)
    refs = best_overlapping_match(sequence, np.array([c[0] for c in cases]), np.array([c[1] for c in cases]),
                                  [sequence[c[0]:c[0] + c[1]].tobytes().decode() for c in cases], pwm)
    threshold = score_threshold(pwm)
    effects = motif_effects(refs, scores, threshold).tolist()
    # break the first T, break C->A in the core, a far SNV, an inserted site, next to the site
    # (placements over row 18 hold none of the site's first base), a deletion in the site
    assert effects == ["broken", "broken", "untouched", "created", "untouched", "broken"]
    assert refs[0] == pytest.approx(pwm.max(axis=1).sum()) and refs[4] < threshold


def test_score_threshold_equals_a_brute_force_count():
    import itertools

    rng = np.random.default_rng(4)
    pwm = np.round(rng.normal(size=(5, 4)), 2)
    scores = np.array([sum(pwm[i, b] for i, b in enumerate(kmer)) for kmer in itertools.product(range(4), repeat=5)])
    for p in (1e-3, 1e-2, 0.1):
        threshold = score_threshold(pwm, p)
        assert np.mean(scores >= threshold - 1e-9) <= p
        assert np.mean(scores >= threshold - 0.01 - 1e-9) > p  # the lowest such score


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    rng = np.random.default_rng(11)
    sequence = rng.choice(np.frombuffer(b"ACG", np.uint8), 20000)  # no T: no accidental sites
    starts = np.arange(2000, 18000, 800)
    for start in starts:
        sequence[start:start + 7] = np.frombuffer(b"TGACTCA", np.uint8)
    text = sequence.tobytes().decode()
    (folder / "genome.fa").write_text(f">chr1\n{text}\n")
    prepare_fasta(folder / "genome.fa", folder / "prepared.fa")
    (folder / "peaks.bed").write_text("".join(f"chr1\t{s - 100}\t{s + 100}\n" for s in starts))
    (folder / "ap1.jaspar").write_text(AP1)
    lines = [f"chr1\t{s + 1}\tbreak{k}\tT\tC\t.\t.\t." for k, s in enumerate(starts)]
    far = [p for p in rng.integers(100, 19900, 400) if np.abs(starts - p).min() > 200][:40]
    lines += [f"chr1\t{p + 1}\tbg{k}\t{text[p]}\t{'T' if text[p] != 'T' else 'A'}\t.\t.\t." for k, p in enumerate(far)]
    lines.sort(key=lambda line: int(line.split("\t")[1]))
    (folder / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    return {"folder": folder, "fasta": folder / "prepared.fa", "text": text, "starts": starts,
            "model": save_motif_model(folder / "model")}


def test_the_null_lies_away_from_the_peaks_and_is_seeded(planted):
    from tfbinding.interpret.variant_annotation import read_peaks
    from tfbinding.io.fasta import Genome

    genome = Genome(planted["fasta"])
    peaks = read_peaks(planted["folder"] / "peaks.bed", genome.sizes)
    one = draw_background_snvs(genome, ["chr1"], 300, 60, np.random.default_rng(5), peaks, margin=40)
    two = draw_background_snvs(genome, ["chr1"], 300, 60, np.random.default_rng(5), peaks, margin=40)
    assert (one.pos == two.pos).all() and (one.alt == two.alt).all() and len(one) == 300
    starts, ends = peaks["chr1"]
    for pos in one.pos - 1:
        assert ((pos + 40 < starts) | (pos - 40 >= ends)).all()
    assert all(planted["text"][p - 1] == r for p, r in zip(one.pos, one.ref)) and (one.ref != one.alt).all()


def test_calibrated_scores_annotation_and_logos(planted, tmp_path):
    out = tmp_path / "out"
    summary = score_vcf([planted["model"], planted["model"]], planted["folder"] / "v.vcf", planted["fasta"],
                        out / "m.tsv", out / "m.vcf.gz", rc_average=True, null_size=300, null_seed=2,
                        peaks=planted["folder"] / "peaks.bed", motif=planted["folder"] / "ap1.jaspar",
                        top=3, logo_dir=out / "logos")
    with open(out / "m.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    breaks = [row for row in rows if row["id"].startswith("break")]
    background = [row for row in rows if row["id"].startswith("bg")]
    assert all(float(row["qvalue"]) < 0.05 for row in breaks)
    assert all(row["motif_effect"] == "broken" and row["in_peak"] == "1" for row in breaks)
    assert all(row["in_peak"] == "0" and row["motif_effect"] == "untouched" for row in background)
    assert all(float(row["delta_sd"]) == 0 and row["flag"] == "." for row in rows)  # the same model twice
    assert summary["null"]["strata"] == 3 and summary["significant_q05"] >= len(breaks)
    assert len(summary["logos"]) == 3 and all((out / "logos" / png).stat().st_size > 1000 for png in summary["logos"])
    listed = (out / "logos" / "logos.tsv").read_text().splitlines()
    assert len(listed) == 4 and listed[1].split("\t")[3].startswith("break")
    with gzip.open(out / "m.vcf.gz", "rt") as handle:
        header = [line for line in handle if line.startswith("##INFO=<ID=TFB_")]
    for key in ("TFB_PVALUE", "TFB_QVALUE", "TFB_NULL_PCT", "TFB_MOTIF_EFFECT", "TFB_IN_PEAK", "TFB_DELTA_SD"):
        assert any(line.startswith(f"##INFO=<ID={key},") for line in header)
    by_id = {row["id"]: row for row in rows}
    with pysam.VariantFile(str(out / "m.vcf.gz")) as annotated:
        for record in annotated:
            row = by_id[record.id]
            assert record.info["TFB_QVALUE"][0] == pytest.approx(float(row["qvalue"]), rel=1e-4)
            assert record.info["TFB_MOTIF_EFFECT"][0] == row["motif_effect"]
            assert ("TFB_IN_PEAK" in record.info) == (row["in_peak"] == "1")


def test_models_whose_deltas_disagree_in_sign_are_flagged(planted, tmp_path):
    import keras

    from helpers import motif_model
    flipped = motif_model()
    for layer in flipped.layers:  # the last Dense's kernel too: the logit's sign flips
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = layer.get_weights()
            layer.set_weights([-kernel, -bias])
    (tmp_path / "flip").mkdir()
    flipped.save(tmp_path / "flip" / "model.keras")
    out = tmp_path / "out"
    summary = score_vcf([planted["model"], tmp_path / "flip"], planted["folder"] / "v.vcf", planted["fasta"],
                        out / "m.tsv", out / "m.vcf.gz")
    with open(out / "m.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    breaks = [row for row in rows if row["id"].startswith("break")]
    assert all(row["flag"] == "sign_disagree" and float(row["delta_sd"]) > 0.4 for row in breaks)
    assert summary["sign_disagreements"] >= len(breaks)
