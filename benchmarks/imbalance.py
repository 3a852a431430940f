#!/usr/bin/env python
"""The study's question at the study's imbalance: which way of facing a rare positive class
lets the study's models learn, with every negative kept.

A simulated genome (:mod:`tfbinding.synthetic.simulate`, JunD-like sites placed anywhere in
their peaks, decoys outside) is cut into 101-bp windows with 200-bp flanks and a 500-kb
block split that keeps every negative. Each study model (which crops the flanks: a 101-bp
view) and ``improved`` (the whole 501-bp row) is trained under each imbalance strategy
and seed; the table gives the best train ROC AUC (inference mode), the test ROC and PR
AUC (mean ± sd over seeds) as a fraction of the oracle over the model's own view (the
planted matrix scanned over the central 101 bp, or the whole row), the status training
reports ("not learned" for a model that learned nothing), and the study's three claims.

    python benchmarks/imbalance.py --positives 0.004 --size 24000000
    python benchmarks/imbalance.py --positives 0.02 --size 12000000 --strategies balanced_batches weights

Every figure printed is measured in this run; the README quotes them with the date.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))
MOTIF = REPO / "resources" / "motifs" / "MA0491.3.jaspar"
LENGTH, FLANK = 101, 200
#: bp of peak-overlapping windows per planted peak (mean width 250 bp + one window), for
#: choosing the number of peaks that gives the asked-for positive rate
WINDOWS_PER_PEAK = 3.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positives", type=float, default=0.004, help="target positive rate")
    parser.add_argument("--size", type=int, default=24_000_000, help="genome bp (2 of 3 chromosomes used)")
    parser.add_argument("--strategies", nargs="+",
                        default=["balanced_batches", "weights", "downsample", "focal"])
    parser.add_argument("--models", nargs="*", default=["no_dropout", "no_weights", "full"],
                        help="study models (none: only improved)")
    parser.add_argument("--improved", nargs="*", default=["weights"],
                        help="imbalance strategies to train improved with (none: skip it)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--improved-epochs", type=int, default=6)
    parser.add_argument("--genome-seed", type=int, default=11)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", help="write every run's figures here as they come")
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}")

    from models import build_dataset

    from tfbinding.config import TrainingConfig, uses_reverse_complement
    from tfbinding.data.loader import load_dataset
    from tfbinding.data.split import SplitSpec
    from tfbinding.models.ablation import ablation_claims, read_history, summarise_history
    from tfbinding.models.inference import load_model, predict_probabilities
    from tfbinding.models.metrics import average_precision, roc_auc
    from tfbinding.models.motif_baseline import read_jaspar
    from tfbinding.models.train import train_model
    from tfbinding.synthetic.simulate import oracle_scores, simulate_genome

    work = Path(tempfile.mkdtemp(prefix="tfbinding-imbalance-"))
    third = args.size // 3
    n_sites = int(args.positives * (2 * third / LENGTH) / WINDOWS_PER_PEAK * 1.5 / 1.1)
    genome = simulate_genome(seed=args.genome_seed, chromosomes={"chr1": third, "chr2": third, "chr3": third},
                             motif_counts=read_jaspar(MOTIF)[1], n_sites=n_sites, site_anywhere=True)
    files = genome.write(work / "genome")
    split = SplitSpec(method="blocks", fractions=(0.8, 0.1, 0.1), block_size=500_000, seed=0)
    dataset = build_dataset(work / "build", files["genome.fa.gz"], files["peaks.narrowPeak.gz"], ["chr1", "chr2"],
                            flank=FLANK, split=split)
    data = load_dataset(dataset)
    counts = data.manifest["splits"]
    labels = np.asarray(data.test["y"]).ravel()
    X = np.asarray(data.test["X"])
    oracle = {"window": oracle_scores(X[:, FLANK:FLANK + LENGTH], genome.matrix), "row": oracle_scores(X, genome.matrix)}
    oracle_fig = {view: (roc_auc(labels, s), average_precision(labels, s)) for view, s in oracle.items()}
    rate = counts["train"]["positives"] / counts["train"]["windows"]
    print(f"\nSimulated genome {args.size / 1e6:.0f} Mbp (seed {args.genome_seed}, {n_sites} bound peaks, sites anywhere "
          f"in their peaks), chr1+chr2, 500-kb blocks, every negative kept: train {counts['train']['windows']:,} "
          f"windows, {counts['train']['positives']} positive ({100 * rate:.2f}%); test {counts['test']['windows']:,}, "
          f"{counts['test']['positives']} positive")
    print(f"oracle over the central 101 bp: test ROC AUC {oracle_fig['window'][0]:.3f}, PR AUC "
          f"{oracle_fig['window'][1]:.4f}; over the whole 501-bp row: {oracle_fig['row'][0]:.3f}, "
          f"{oracle_fig['row'][1]:.4f}")

    runs = [(s, m) for s in args.strategies for m in args.models] + [(s, "improved") for s in args.improved]
    results: dict[tuple[str, str], list[dict]] = {}
    for strategy, name in runs:
        for seed in args.seeds:
            key = "improved_imbalance" if name == "improved" else "imbalance"
            config = TrainingConfig(seed=seed, epochs=args.epochs, improved_epochs=args.improved_epochs,
                                    **{key: strategy})
            out = work / f"{strategy}-{name}-{seed}"
            started = time.perf_counter()
            summary = train_model(dataset, name, out, config, threads=args.threads,
                                  motif=MOTIF if name == "improved" else None)
            scores = predict_probabilities(load_model(out), X, uses_reverse_complement(name))
            view = "row" if name == "improved" else "window"
            row = {"seed": seed, "best_train_roc": summary["best_train_roc_auc"],
                   "roc": roc_auc(labels, scores), "pr": average_precision(labels, scores),
                   "roc_frac": roc_auc(labels, scores) / oracle_fig[view][0],
                   "pr_frac": average_precision(labels, scores) / oracle_fig[view][1],
                   "status": ("collapsed" if summary["collapsed"] else "not learned" if summary["not_learned"]
                              else "ok"), "reason": summary["collapsed"] or summary["not_learned"],
                   "history": summarise_history(read_history(out / "history.csv")),
                   "seconds": time.perf_counter() - started, "epochs": summary["epochs_run"]}
            results.setdefault((strategy, name), []).append(row)
            if args.json:
                Path(args.json).write_text(json.dumps({f"{k[0]} {k[1]}": v for k, v in results.items()},
                                                      default=float))
            print(f"  {strategy} {name} seed {seed}: best train ROC {row['best_train_roc']:.3f}, test ROC "
                  f"{row['roc']:.3f} ({row['roc_frac']:.2f}x oracle), PR {row['pr']:.4f} ({row['pr_frac']:.2f}x), "
                  f"{row['status']}{': ' + row['reason'] if row['reason'] else ''}, {row['epochs']} epochs, "
                  f"{row['seconds']:.0f} s", flush=True)

    def spread(rows, key, fmt="{:.3f}"):
        values = np.array([r[key] for r in rows])
        return (fmt + " ± " + fmt).format(values.mean(), values.std()) + f" [{fmt.format(values.min())}, " \
            f"{fmt.format(values.max())}]"

    print(f"\n| strategy | model | best train ROC AUC | test ROC AUC | ROC / oracle | test PR AUC | PR / oracle "
          f"| status (of {len(args.seeds)} seeds) |")
    print("|---|---|---|---|---|---|---|---|")
    for (strategy, name), rows in results.items():
        statuses = ", ".join(f"{sum(r['status'] == s for r in rows)} {s}" for s in ("ok", "not learned", "collapsed")
                             if any(r['status'] == s for r in rows))
        print(f"| {strategy} | {name} | {spread(rows, 'best_train_roc')} | {spread(rows, 'roc')} | "
              f"{spread(rows, 'roc_frac', '{:.2f}')} | {spread(rows, 'pr', '{:.4f}')} | "
              f"{spread(rows, 'pr_frac', '{:.2f}')} | {statuses} |")
    print("\nmean ± sd over seeds [min, max]; oracle: the planted matrix over the model's own view "
          "(central 101 bp for the study models, the 501-bp row for improved)")

    print("\nThe study's claims per strategy and seed (valid split, from the histories):")
    for strategy in args.strategies if len(args.models) == 3 else ():
        verdicts = {}
        for index, seed in enumerate(args.seeds):
            rows = {name: results[(strategy, name)][index] for name in args.models}
            claims = ablation_claims({n: r["history"] for n, r in rows.items()},
                                     {n: r["reason"] for n, r in rows.items() if r["status"] != "ok"})
            for claim, verdict in claims.items():
                verdicts.setdefault(claim, []).append(verdict["verdict"])
        print(f"- {strategy}: " + "; ".join(f"{claim}: " + ", ".join(v) for claim, v in verdicts.items()))
    print(f"\ntotal {sum(r['seconds'] for rows in results.values() for r in rows) / 60:.1f} min of training")


if __name__ == "__main__":
    main()
