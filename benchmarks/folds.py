#!/usr/bin/env python
"""Benchmark K-fold cross-validation on real data: out-of-fold metrics over every window
against one split's test figures.

On ``../shared/data/jund_chr22`` (real hg19 chr22 JunD, 139 positives, 101-bp windows from
the windows BED, ``max_n_fraction: 1.0``) the windows are cut into ``--folds`` leak-free
parts of ``--block-size`` blocks (``split.folds``); each window is scored by the model of
the fold whose test part holds it, and ROC/PR AUC with bootstrap 95% intervals are taken
over all windows (all 139 positives). The same is done on one block split (80/10/10, the
same block size, seed 0), whose test split holds a tenth of the blocks: the ratio of the
interval widths is the figure of merit.

The motif scan (``motif_baseline``, the JASPAR JunD matrix) needs no training; trained
models (``--models``) are trained once per fold (and once on the single split).

    python benchmarks/folds.py --folds 5
    python benchmarks/folds.py --folds 5 --models full --epochs 10

Every figure printed is measured in this run; the README quotes them with the date.
"""
from __future__ import annotations

import argparse
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


def test_scores(dataset: Path, fold: int | None, work: Path, models: list[str], epochs: int | None,
                threads: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The labels of one (fold's) test split and each model's scores on it."""
    from models import MOTIF

    from tfbinding.config import TrainingConfig, uses_reverse_complement
    from tfbinding.data.loader import load_dataset
    from tfbinding.layout import fold_dir
    from tfbinding.models.inference import load_model, predict_probabilities
    from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar
    from tfbinding.models.train import train_model

    folder = dataset if fold is None else fold_dir(dataset, fold)
    data = load_dataset(folder)
    X = data.test["X"]
    scores = {"motif_baseline": best_match_scores(X, log_odds(read_jaspar(MOTIF)[1]))}
    overrides = {"epochs": epochs, "improved_epochs": epochs} if epochs else {}
    for name in models:
        out = work / f"fold{fold}" / name
        train_model(folder, name, out, TrainingConfig(**overrides), threads=threads,
                    motif=MOTIF if name == "improved" else None)
        scores[name] = predict_probabilities(load_model(out), X, uses_reverse_complement(name))
    return np.asarray(data.test["y"]).ravel(), scores


def width(entry: dict) -> float:
    return entry["ci95_high"] - entry["ci95_low"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data" / "jund_chr22"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--block-size", type=int, default=1_000_000)
    parser.add_argument("--models", nargs="*", default=[], help="trained models (default: the scan only)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from models import build_dataset

    from tfbinding.data.split import SplitSpec
    from tfbinding.models.cross_validate import paired_bootstrap
    from tfbinding.models.metrics import evaluate_scores

    shared = Path(args.shared)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"inputs: {shared} (chr22.partial.fa.gz, jund_chr22.regions.narrowPeak, jund_chr22.windows.bed)")
    work = Path(tempfile.mkdtemp(prefix="tfbinding-folds-"))
    inputs = dict(fasta=shared / "chr22.partial.fa.gz", peaks=shared / "jund_chr22.regions.narrowPeak")

    def build(folder: Path, split: SplitSpec) -> Path:
        return build_dataset(folder, inputs["fasta"], inputs["peaks"], ["chr22"], flank=0, split=split,
                             windows_bed=shared / "jund_chr22.windows.bed", max_n_fraction=1.0)

    started = time.perf_counter()
    folds_dataset = build(work / "folds", SplitSpec(method="blocks", block_size=args.block_size,
                                                    folds=args.folds))
    build_seconds = time.perf_counter() - started
    labels, scores, per_fold = [], {}, []
    for fold in range(args.folds):
        fold_labels, fold_scores = test_scores(folds_dataset, fold, work / "folds", args.models, args.epochs,
                                               args.threads)
        labels.append(fold_labels)
        for name, values in fold_scores.items():
            scores.setdefault(name, []).append(values)
        per_fold.append((len(fold_labels), int(fold_labels.sum())))
    labels = np.concatenate(labels)
    oof = {name: evaluate_scores(labels, np.concatenate(values), args.bootstrap, 0) for name, values in scores.items()}

    single = build(work / "single", SplitSpec(method="blocks", block_size=args.block_size, seed=0))
    single_labels, single_scores = test_scores(single, None, work / "single", args.models, args.epochs,
                                               args.threads)
    one = {name: evaluate_scores(single_labels, values, args.bootstrap, 0) for name, values in single_scores.items()}

    print(f"\n{args.folds} folds of {args.block_size // 1000}-kb blocks (dataset built in {build_seconds:.1f} s): "
          f"out of fold {len(labels):,} windows, {int(labels.sum())} positive; per fold (windows, positives) "
          f"{per_fold}")
    print(f"one block split (80/10/10, seed 0): test {len(single_labels):,} windows, "
          f"{int(single_labels.sum())} positive\n")
    print("| model | OOF ROC AUC [95%] | OOF PR AUC [95%] | one split ROC AUC [95%] | one split PR AUC [95%] "
          "| PR AUC interval width: one split / OOF | ROC AUC width ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in oof:
        cells = []
        for source in (oof, one):
            for metric in ("roc_auc", "pr_auc"):
                entry = source[name][metric]
                cells.append(f"{entry['value']:.3f} [{entry['ci95_low']:.3f}, {entry['ci95_high']:.3f}]")
        ratio_pr = width(one[name]["pr_auc"]) / width(oof[name]["pr_auc"])
        ratio_roc = width(one[name]["roc_auc"]) / width(oof[name]["roc_auc"])
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio_pr:.2f}× | {ratio_roc:.2f}× |")
    if args.models:
        print("\nAgainst motif_baseline, out of fold (paired bootstrap, difference [95%], fraction ahead):")
        for name in args.models:
            paired = paired_bootstrap(labels, np.concatenate(scores[name]), np.concatenate(scores["motif_baseline"]),
                                      args.bootstrap, 0)
            print(f"- {name}: " + "; ".join(
                f"{m} {paired[m]['difference']:+.3f} [{paired[m]['ci95_low']:+.3f}, {paired[m]['ci95_high']:+.3f}], "
                f"{paired[m]['fraction_ahead']:.2f}" for m in ("roc_auc", "pr_auc")))
    print(f"\ntotal {time.perf_counter() - started:.0f} s; work folder {work}")


if __name__ == "__main__":
    main()
