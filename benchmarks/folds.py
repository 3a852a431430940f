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

``--simulated``: a simulated genome instead (:mod:`tfbinding.synthetic.simulate`, JunD-like
sites near their peaks' summits, or anywhere in them with ``--site-anywhere``; three
chromosomes). chr1 and chr2 are cut into K folds of
``--block-size`` blocks; each model is trained once per fold, and every window's
out-of-fold score is set against the oracle (the planted matrix scanned over the model's
own view: the central 101 bp for the study models, the whole row for ``improved``) on the
same windows. chr3 is held out of every fold: each fold model and the ensemble (the mean
of the K fold models' probabilities, as ``predict`` scores it) predict it, and the
ensemble's ROC AUC is compared with the best single fold model's.

    python benchmarks/folds.py --folds 5
    python benchmarks/folds.py --folds 5 --models full --epochs 10
    python benchmarks/folds.py --simulated --folds 5 --models full --epochs 4 --epoch-steps 100

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


def simulated(args) -> None:
    """Out-of-fold figures against the oracle, and the ensemble on a held-out chromosome."""
    from models import build_dataset

    from tfbinding.config import TrainingConfig, uses_reverse_complement
    from tfbinding.data.loader import load_dataset
    from tfbinding.data.split import SplitSpec
    from tfbinding.layout import SPLITS, fold_dir
    from tfbinding.models.cross_validate import paired_bootstrap
    from tfbinding.models.inference import load_ensemble, predict_ensemble
    from tfbinding.models.metrics import evaluate_scores, roc_auc
    from tfbinding.models.motif_baseline import read_jaspar
    from tfbinding.models.train import train_model
    from tfbinding.synthetic.simulate import oracle_scores, simulate_genome

    motif = REPO / "resources" / "motifs" / "MA0491.3.jaspar"
    length, flank = 101, 200
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="tfbinding-folds-sim-"))
    third = args.size // 3
    # ~3.5 windows per bound peak: n_sites for the asked-for positive rate (as imbalance.py)
    n_sites = int(args.positives * (2 * third / length) / 3.5 * 1.5 / 1.1)
    genome = simulate_genome(seed=args.genome_seed, chromosomes={"chr1": third, "chr2": third, "chr3": third},
                             motif_counts=read_jaspar(motif)[1], n_sites=n_sites,
                             site_anywhere=args.site_anywhere)
    files = genome.write(work / "genome")
    dataset = build_dataset(work / "folds", files["genome.fa.gz"], files["peaks.narrowPeak.gz"], ["chr1", "chr2"],
                            flank=flank, split=SplitSpec(method="blocks", block_size=args.block_size,
                                                         folds=args.folds))
    held = load_dataset(build_dataset(work / "held_out", files["genome.fa.gz"], files["peaks.narrowPeak.gz"],
                                      ["chr3"], flank=flank,
                                      split=SplitSpec(method="blocks", block_size=args.block_size)))
    held_X = np.concatenate([np.asarray(getattr(held, split)["X"]) for split in SPLITS])
    held_y = np.concatenate([np.asarray(getattr(held, split)["y"]).ravel() for split in SPLITS])
    build_seconds = time.perf_counter() - started

    def view(name: str, X: np.ndarray) -> np.ndarray:
        return X if name == "improved" else X[:, flank:flank + length]

    labels, oof, oracle_oof, per_fold, held_scores = [], {}, {}, [], {}
    train_seconds = 0.0
    for fold in range(args.folds):
        folder = fold_dir(dataset, fold)
        data = load_dataset(folder)
        X, y = np.asarray(data.test["X"]), np.asarray(data.test["y"]).ravel()
        labels.append(y)
        figures = {"windows": len(y), "positives": int(y.sum())}
        for name in args.models:
            out = work / f"fold{fold}" / name
            config = TrainingConfig(epochs=args.epochs, improved_epochs=args.epochs,
                                    improved_filters=args.improved_filters,
                                    **({"epoch_steps": args.epoch_steps} if args.epoch_steps else {}))
            tic = time.perf_counter()
            train_model(folder, name, out, config, threads=args.threads, motif=motif if name == "improved" else None)
            train_seconds += time.perf_counter() - tic
            model = load_ensemble([out], threads=args.threads)
            rc = uses_reverse_complement(name)
            scores = predict_ensemble(model, X, rc)[0]
            oof.setdefault(name, []).append(scores)
            oracle_oof.setdefault(name, []).append(oracle_scores(view(name, X), genome.matrix))
            held_scores.setdefault(name, []).append(predict_ensemble(model, held_X, rc)[0])
            figures[name] = roc_auc(y, scores)
        per_fold.append(figures)
        print(f"  fold {fold}: test {figures['windows']:,} windows, {figures['positives']} positive; "
              + ", ".join(f"{n} ROC AUC {figures[n]:.3f}" for n in args.models), flush=True)
    labels = np.concatenate(labels)
    counts = load_dataset(dataset, fold=0).manifest
    print(f"\nSimulated genome {args.size / 1e6:.0f} Mbp (seed {args.genome_seed}, {n_sites} bound peaks, sites "
          f"{'anywhere in their peaks' if args.site_anywhere else 'near the summits'}); chr1+chr2 in {args.folds} folds of {args.block_size // 1000}-kb blocks "
          f"({len(labels):,} windows, {int(labels.sum())} positive, {100 * labels.mean():.2f}%); chr3 held out "
          f"({len(held_y):,} windows, {int(held_y.sum())} positive). Training: {', '.join(args.models)}, "
          f"{args.epochs} epochs" + (f" of {args.epoch_steps} balanced batches" if args.epoch_steps else "")
          + (f", improved with {args.improved_filters} filters" if "improved" in args.models else "")
          + f"; fold 0 trains on {counts['splits']['train']['windows']:,} windows.")
    print(f"dataset steps {build_seconds:.0f} s, training {train_seconds:.0f} s, threads {args.threads}, "
          f"load average {os.getloadavg()}\n")
    print("Out of fold (every window scored by the fold model that did not train on it) against the oracle "
          "over the same windows and the model's view:\n")
    print("| model | OOF ROC AUC [95%] | oracle | ROC / oracle | OOF PR AUC [95%] | oracle | PR / oracle "
          "| per-fold ROC AUC mean ± sd | model − oracle, ROC AUC (paired) [95%] |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        scores, reference = np.concatenate(oof[name]), np.concatenate(oracle_oof[name])
        mine = evaluate_scores(labels, scores, args.bootstrap, 0)
        best = evaluate_scores(labels, reference, 0, 0)
        paired = paired_bootstrap(labels, scores, reference, args.bootstrap, 0)["roc_auc"]
        folds = np.array([f[name] for f in per_fold])
        cells = [f"{mine[m]['value']:.3f} [{mine[m]['ci95_low']:.3f}, {mine[m]['ci95_high']:.3f}] | "
                 f"{best[m]['value']:.3f} | {mine[m]['value'] / best[m]['value']:.2f}×" for m in ("roc_auc", "pr_auc")]
        print(f"| {name} | " + " | ".join(cells) + f" | {folds.mean():.3f} ± {folds.std(ddof=1):.3f} | "
              f"{paired['difference']:+.3f} [{paired['ci95_low']:+.3f}, {paired['ci95_high']:+.3f}] |")
    print("\nHeld-out chromosome chr3 (in no fold): each fold model, and the ensemble (mean of the K models' "
          "probabilities):\n")
    print("| model | fold models' ROC AUC | best fold | ensemble ROC AUC [95%] | ensemble − best fold "
          "| ensemble ≥ best fold | fold models' PR AUC (best) | ensemble PR AUC | oracle ROC / PR AUC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        members = np.stack(held_scores[name])
        ensemble = members.mean(axis=0)
        single = [evaluate_scores(held_y, m, 0, 0) for m in members]
        rocs = np.array([f["roc_auc"]["value"] for f in single])
        prs = np.array([f["pr_auc"]["value"] for f in single])
        both = evaluate_scores(held_y, ensemble, args.bootstrap, 0)
        oracle = evaluate_scores(held_y, oracle_scores(view(name, held_X), genome.matrix), 0, 0)
        roc = both["roc_auc"]
        print(f"| {name} | {', '.join(f'{v:.3f}' for v in rocs)} | {rocs.max():.3f} | {roc['value']:.3f} "
              f"[{roc['ci95_low']:.3f}, {roc['ci95_high']:.3f}] | {roc['value'] - rocs.max():+.4f} | "
              f"{'yes' if roc['value'] >= rocs.max() else 'no'} | {', '.join(f'{v:.3f}' for v in prs)} "
              f"({prs.max():.3f}) | {both['pr_auc']['value']:.3f} | {oracle['roc_auc']['value']:.3f} / "
              f"{oracle['pr_auc']['value']:.3f} |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s; work folder {work}")


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
    parser.add_argument("--simulated", action="store_true",
                        help="a simulated genome: OOF against the oracle, the ensemble on a held-out chromosome")
    parser.add_argument("--size", type=int, default=9_000_000, help="--simulated: genome bp (3 chromosomes)")
    parser.add_argument("--positives", type=float, default=0.02, help="--simulated: target positive rate")
    parser.add_argument("--genome-seed", type=int, default=11, help="--simulated")
    parser.add_argument("--site-anywhere", action="store_true",
                        help="--simulated: sites anywhere in their peaks (default: near the summit)")
    parser.add_argument("--epoch-steps", type=int, default=None,
                        help="--simulated: balanced batches per epoch of the study models")
    parser.add_argument("--improved-filters", type=int, default=64, help="--simulated")
    args = parser.parse_args()
    if args.simulated:
        if args.block_size == parser.get_default("block_size"):
            args.block_size = 200_000
        args.models = args.models or ["full"]
        args.epochs = args.epochs or 4
        print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, python "
              f"{platform.python_version()}, load average {os.getloadavg()}")
        return simulated(args)

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
