#!/usr/bin/env python
"""Calibrated variant scores on a simulated genome: AUROC, q-values, null uniformity, speed.

    python benchmarks/variants.py            # a few minutes on 2 cores

The simulation (:func:`tfbinding.synthetic.simulate.simulate_genome`, JUND's MA0491.3 as the
planted matrix): its breakable sites, each with the SNV that breaks it most (the
``variants``), and ``--background`` SNVs at random positions at least one window from every
peak. A motif-informed ``improved`` model is trained for a few epochs on windows centred on
the peaks' summits against random windows away from them, then
:func:`tfbinding.interpret.score_variants.score_vcf` scores the VCF with both strands, the
G+C-matched null of ``--null-size`` background SNVs drawn away from the peaks, the motif and
the peaks. Throughput is measured on a second VCF of ``--throughput`` random SNVs, null
included (variants per second of the whole scoring, null drawn and scored).

Printed: the machine, the inputs, and a table of AUROC (|delta|, |log2 odds ratio|, and
the calibrated score: -log10 p-value, ties broken by |log2 odds ratio|), the share of
breaking SNVs with q < 0.05, the KS test of the background SNVs' p-values against uniform,
the motif annotation of the breaking SNVs, and the throughput, for each ``--shifts``.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def far_snvs(genome, rng, count: int, margin: int, prefix: str) -> list[tuple]:
    """SNVs at random A/C/G/T positions at least ``margin`` bp from every peak."""
    out = []
    chroms = list(genome.sequences)
    sizes = np.array([len(genome.sequences[c]) for c in chroms])
    while len(out) < count:
        k = int(rng.choice(len(chroms), p=sizes / sizes.sum()))
        chrom = chroms[k]
        pos = int(rng.integers(margin, sizes[k] - margin))
        peaks = genome.peaks[genome.peaks["chrom"] == chrom]
        if len(peaks) and ((peaks["start"] - margin <= pos) & (peaks["end"] + margin > pos)).any():
            continue
        base = chr(genome.sequences[chrom][pos]).upper()
        if base not in "ACGT":
            continue
        alt = "ACGT"[("ACGT".index(base) + int(rng.integers(1, 4))) % 4]
        out.append((chrom, pos + 1, f"{prefix}{len(out)}", base, alt))
    return out


def write_vcf(path: Path, rows: list[tuple]) -> None:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    path.write_text(HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in rows))


def train(genome, length: int, epochs: int, pwm: np.ndarray, rng, threads: int):
    from tfbinding.config import TrainingConfig
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow

    configure_tensorflow(0, threads)
    X, y = [], []
    for chrom in genome.sequences:
        peaks = genome.peaks[genome.peaks["chrom"] == chrom]
        summits = peaks["summit"][(peaks["summit"] > length) & (peaks["summit"] < len(genome.sequences[chrom]) - length)]
        X.append(genome.encode(chrom, summits - length // 2, length))
        y.append(np.ones(len(summits)))
        negatives = rng.integers(length, len(genome.sequences[chrom]) - length, 3 * len(summits))
        X.append(genome.encode(chrom, negatives - length // 2, length))
        y.append(np.zeros(len(negatives)))
    X, y = np.concatenate(X), np.concatenate(y).astype(np.float32)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    model = build_model("improved", length, TrainingConfig(seed=0), pwm=pwm, prior=float(y.mean()))
    w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())).astype(np.float32)
    model.fit(X.astype(np.float32), y, sample_weight=w, batch_size=256, epochs=epochs, verbose=0)
    return model, len(y), int(y.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-bp", type=int, default=4_000_000)
    parser.add_argument("--sites", type=int, default=600)
    parser.add_argument("--breaking", type=int, default=48)
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--null-size", type=int, default=2_000)
    parser.add_argument("--shifts", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--throughput", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="results/benchmarks/variants")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from scipy.stats import kstest
    from sklearn.metrics import roc_auc_score

    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.interpret.score_variants import score_vcf
    from tfbinding.models.motif_baseline import log_odds, read_jaspar
    from tfbinding.synthetic.simulate import simulate_genome

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    motif = REPO / "resources" / "motifs" / "MA0491.3.jaspar"
    _, counts = read_jaspar(motif)
    started = time.perf_counter()
    genome = simulate_genome(seed=args.seed, size_bp=args.size_bp, motif_counts=counts, n_sites=args.sites,
                             n_snv_sites=args.breaking)
    (work / "genome.fa").write_text("".join(f">{c}\n{s.tobytes().decode()}\n" for c, s in genome.sequences.items()))
    prepare_fasta(work / "genome.fa", work / "prepared.fa")
    (work / "peaks.bed").write_text("".join(f"{p['chrom']}\t{p['start']}\t{p['end']}\n" for p in genome.peaks))
    rng = np.random.default_rng(args.seed)
    breaking = [(v["chrom"], int(v["pos"]) + 1, f"break{k}", v["ref"], v["alt"]) for k, v in enumerate(genome.variants)]
    background = far_snvs(genome, rng, args.background, args.length, "bg")
    write_vcf(work / "benchmark.vcf", breaking + background)
    write_vcf(work / "throughput.vcf", far_snvs(genome, rng, args.throughput, args.length // 2, "t"))
    simulate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    model, windows, positives = train(genome, args.length, args.epochs, log_odds(counts), rng, args.threads)
    (work / "model").mkdir(exist_ok=True)
    model.save(work / "model" / "model.keras")
    train_seconds = time.perf_counter() - started

    print(f"# benchmarks/variants.py, {date.today()}, {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} CPUs, TF threads {args.threads}, load average {os.getloadavg()[0]:.1f}")
    print(f"# genome {args.size_bp:,} bp, seed {args.seed}, {len(genome.peaks)} peaks, {len(breaking)} breaking "
          f"SNVs, {len(background)} background SNVs >= {args.length} bp from peaks; improved (motif-informed), "
          f"window {args.length}, {args.epochs} epochs on {windows} windows ({positives} positives) in "
          f"{train_seconds:.0f} s; null {args.null_size} SNVs away from peaks, G+C-matched")
    print("| shifts | AUROC abs(delta) | AUROC abs(log2 OR) | AUROC p-value | breaking q<0.05 | KS p (background p-values) "
          "| motif broken | variants/s with null | variants/s without |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shifts in args.shifts:
        out = work / f"shifts{shifts}"
        common = dict(rc_average=True, shifts=shifts, threads=args.threads)
        score_vcf(work / "model", work / "benchmark.vcf", work / "prepared.fa", out / "b.tsv", out / "b.vcf.gz",
                  null_size=args.null_size, null_seed=1, peaks=work / "peaks.bed", motif=motif, top=5,
                  logo_dir=out / "logos", **common)
        with open(out / "b.tsv") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        labels = np.array([row["id"].startswith("break") for row in rows])
        delta = np.abs([float(row["delta"]) for row in rows])
        log_odds_ratio = np.abs([float(row["log2_odds_ratio"]) for row in rows])
        p = np.array([float(row["pvalue"]) for row in rows])
        q = np.array([float(row["qvalue"]) for row in rows])
        # the calibrated score: -log10 p, ties broken by |log2 odds ratio|
        calibrated = -np.log10(p) + 1e-6 * log_odds_ratio
        broken = np.mean([row["motif_effect"] == "broken" for row, b in zip(rows, labels) if b])
        ks = kstest(p[~labels], "uniform").pvalue
        t0 = time.perf_counter()
        fast = score_vcf(work / "model", work / "throughput.vcf", work / "prepared.fa", out / "t.tsv",
                         out / "t.vcf.gz", null_size=args.null_size, null_seed=1, peaks=work / "peaks.bed",
                         **common)
        with_null = fast["scored"] / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain = score_vcf(work / "model", work / "throughput.vcf", work / "prepared.fa", out / "u.tsv",
                          out / "u.vcf.gz", **common)
        without = plain["scored"] / (time.perf_counter() - t0)
        print(f"| {shifts} (load {os.getloadavg()[0]:.1f}) | {roc_auc_score(labels, delta):.3f} | {roc_auc_score(labels, log_odds_ratio):.3f} | "
              f"{roc_auc_score(labels, calibrated):.3f} | "
              f"{np.mean(q[labels] < 0.05):.1%} | {ks:.3f} | {broken:.1%} | {with_null:,.0f} | {without:,.0f} |")
    print(f"# simulate {simulate_seconds:.0f} s; outputs in {work}")


if __name__ == "__main__":
    main()
