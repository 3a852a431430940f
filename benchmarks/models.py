#!/usr/bin/env python
"""Benchmark the models honestly: leak-free splits, several seeds, bootstrap intervals, and
(on simulated data) each model's PR AUC as a fraction of an oracle that scans the planted
matrix over the same X rows, flanks included.

Two benchmarks:

``simulated``  a genome from :mod:`tfbinding.synthetic.simulate` (weak planted JunD-like sites, decoys,
               GC isochores, CpG depletion, repeats, co-factor context); the dataset has
               ``--flank`` bp of context and a block split; one chromosome is held out and
               predicted genome-wide with ``improved``.
``demo``       the embedded synthetic demo under the study's random split (101-bp rows) and
               under leak-free 200-kb blocks (200-bp flanks), side by side.
``real``       ``../shared/data/jund_chr22`` (real hg19 chr22 JunD, 139 positives), 101-bp
               windows, under the study's random split and under several leak-free block
               splits (each test split holds ~14 positives, so one alone decides nothing).

    python benchmarks/models.py simulated --size 6000000 --seeds 0 1 2
    python benchmarks/models.py demo --seeds 0 1 2 --models no_dropout no_weights full improved
    python benchmarks/models.py real --seeds 0 1 2

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
MOTIF = REPO / "resources" / "motifs" / "MA0491.3.jaspar"
LENGTH = 101


def build_dataset(work: Path, fasta: Path, peaks: Path, chroms: list[str], *, flank: int, split,
                  windows_bed: Path | None = None, max_n_fraction: float = 0.5,
                  blacklist: Path | None = None) -> Path:
    """The workflow's dataset steps, called in-process: prepared FASTA in, dataset folder out."""
    from tfbinding.data.dataset import assemble_dataset
    from tfbinding.data.labels import build_labels
    from tfbinding.data.onehot import build_onehot
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.split import split_windows
    from tfbinding.data.windows import build_windows

    prepared = work / "genome.fa"
    if not prepared.exists():
        prepare_fasta(fasta, prepared)
    labels = []
    for chrom in chroms:
        build_windows(prepared, chrom, work / f"{chrom}.windows.npz", length=LENGTH, stride=LENGTH,
                      max_n_fraction=max_n_fraction, windows_bed=windows_bed, blacklist=blacklist)
        build_labels(work / f"{chrom}.windows.npz", peaks, prepared, chrom, work / f"{chrom}.labels.npz",
                     length=LENGTH)
        labels.append(work / f"{chrom}.labels.npz")
    split_windows(chroms, labels, work / "split.npz", length=LENGTH, flank=flank, split=split)
    for chrom in chroms:
        build_onehot(work / "split.npz", prepared, chrom, work / chrom)
    assemble_dataset(work / "split.npz", [work / c for c in chroms], work / "dataset")
    return work / "dataset"


def score_models(dataset: Path, work: Path, seed: int, models: tuple[str, ...], epochs: int | None,
                 threads: int) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """Train each model with ``seed``; return its test scores and its training summary."""
    from tfbinding.config import TrainingConfig, uses_reverse_complement
    from tfbinding.data.loader import load_dataset
    from tfbinding.models.inference import load_model, predict_probabilities
    from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar
    from tfbinding.models.train import train_model

    overrides = {"epochs": epochs, "improved_epochs": epochs} if epochs else {}
    config = TrainingConfig(seed=seed, **overrides)
    X = load_dataset(dataset).test["X"]
    scores, summaries = {}, {}
    for name in models:
        started = time.perf_counter()
        summaries[name] = train_model(dataset, name, work / f"seed{seed}" / name, config, threads=threads,
                                      motif=MOTIF if name == "improved" else None)
        summaries[name]["seconds"] = time.perf_counter() - started
        scores[name] = predict_probabilities(load_model(work / f"seed{seed}" / name), X,
                                             uses_reverse_complement(name))
    scores["motif_baseline"] = best_match_scores(X, log_odds(read_jaspar(MOTIF)[1]))
    return scores, summaries


def seed_runs(dataset: Path, work: Path, args: argparse.Namespace) -> tuple[np.ndarray, list, list]:
    """The test labels, and each seed's test scores and training summaries."""
    from tfbinding.data.loader import load_dataset

    runs, summaries = [], []
    for seed in args.seeds:
        scores, summary = score_models(dataset, work, seed, tuple(args.models), args.epochs, args.threads)
        runs.append(scores)
        summaries.append(summary)
    return np.asarray(load_dataset(dataset).test["y"]).ravel(), runs, summaries


def metric_rows(labels: np.ndarray, runs: list[dict[str, np.ndarray]], bootstrap: int,
                reference: str | None = None) -> dict[str, dict]:
    """Per model: seed 0's ROC/PR AUC with bootstrap 95% intervals, the mean and sd over
    seeds, collapse, and (with ``reference``) PR/ROC AUC as a fraction of it."""
    from tfbinding.models.metrics import average_precision, collapse_reason, evaluate_scores, roc_auc

    rows = {}
    for name in runs[0]:
        per_seed = [(roc_auc(labels, run[name]), average_precision(labels, run[name])) for run in runs]
        collapsed = [collapse_reason(run[name]) for run in runs]
        first = evaluate_scores(labels, runs[0][name], bootstrap, 0)
        row = {"roc_auc": first["roc_auc"], "pr_auc": first["pr_auc"],
               "roc_auc_seeds": [r for r, _ in per_seed], "pr_auc_seeds": [p for _, p in per_seed],
               "collapsed_seeds": sum(c is not None for c in collapsed)}
        if reference:
            ref = [(roc_auc(labels, run[reference]), average_precision(labels, run[reference])) for run in runs]
            row["pr_fraction_of_" + reference] = [p / rp for (_, p), (_, rp) in zip(per_seed, ref)]
            row["roc_fraction_of_" + reference] = [r / rr for (r, _), (rr, _) in zip(per_seed, ref)]
        rows[name] = row
    return rows


def print_table(title: str, rows: dict[str, dict], reference: str | None = None) -> None:
    print(f"\n{title}\n")
    extra = f" | PR AUC / {reference} | ROC AUC / {reference}" if reference else ""
    print("| model | ROC AUC, seed 0 [95% CI] | PR AUC, seed 0 [95% CI] | ROC AUC over seeds | "
          f"PR AUC over seeds{extra} | collapsed |")
    print("|---|---|---|---|---|" + ("---|---|" if reference else "") + "---|")
    for name, row in rows.items():
        cells = []
        for key in ("roc_auc", "pr_auc"):
            m = row[key]
            cells.append(f"{m['value']:.3f} [{m['ci95_low']:.3f}, {m['ci95_high']:.3f}]")
        for key in ("roc_auc_seeds", "pr_auc_seeds"):
            cells.append(f"{np.mean(row[key]):.3f} ± {np.std(row[key]):.3f}")
        if reference:
            for key in ("pr_fraction_of_", "roc_fraction_of_"):
                values = row.get(key + reference)
                cells.append(f"{np.mean(values):.2f}× (min {np.min(values):.2f}×)" if values else "—")
        cells.append(f"{row['collapsed_seeds']} of {len(row['roc_auc_seeds'])}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def ablation_lines(summaries: list[dict[str, dict]]) -> None:
    print("\nBest train ROC AUC (inference mode) and valid PR AUC by seed (from the training histories):\n")
    for seed, summary in enumerate(summaries):
        parts = []
        for name, s in summary.items():
            parts.append(f"{name}: best train ROC {s['best_train_roc_auc']:.3f}, valid PR {s['val_pr_auc']:.3f} "
                         f"(epoch {s['best_epoch']}/{s['epochs_run']}, "
                         f"{s['seconds']:.0f} s{', COLLAPSED' if s.get('collapsed') else ''})")
        print(f"- seed {seed}: " + "; ".join(parts))


def simulated(args: argparse.Namespace) -> dict:
    from tfbinding.data.loader import load_dataset
    from tfbinding.data.split import SplitSpec
    from tfbinding.genomewide.predict import predict_chromosome
    from tfbinding.models.inference import load_model  # noqa: F401  (TensorFlow up before timing)
    from tfbinding.models.metrics import roc_auc
    from tfbinding.models.motif_baseline import read_jaspar
    from tfbinding.synthetic.simulate import oracle_scores, simulate_genome

    work = Path(tempfile.mkdtemp(prefix="tfbinding-models-"))
    third = args.size // 3
    genome = simulate_genome(seed=args.genome_seed, chromosomes={"chr1": third, "chr2": third, "chr3": third},
                             motif_counts=read_jaspar(MOTIF)[1], n_sites=int(args.sites_per_mbp * args.size / 1e6))
    files = genome.write(work / "genome")
    split = SplitSpec(method="blocks", fractions=(0.8, 0.1, 0.1), block_size=args.block_size, seed=0,
                      negative_fraction=args.negative_fraction)
    dataset = build_dataset(work / "build", files["genome.fa.gz"], files["peaks.narrowPeak.gz"],
                            ["chr1", "chr2"], flank=args.flank, split=split)
    data = load_dataset(dataset)
    oracle = oracle_scores(data.test["X"], genome.matrix)
    labels, runs, summaries = seed_runs(dataset, work, args)
    runs = [{**scores, "oracle": oracle} for scores in runs]
    rows = metric_rows(labels, runs, args.bootstrap, reference="oracle")
    counts = data.manifest["splits"]
    print_table(f"Simulated genome, {args.size / 1e6:.0f} Mbp (seed {args.genome_seed}), {LENGTH}-bp windows "
                f"+ {args.flank} bp flanks, {args.block_size // 1000}-kb block split: test "
                f"{counts['test']['windows']:,} windows, {counts['test']['positives']} positive "
                f"(train {counts['train']['positives']} positive)", rows, "oracle")
    ablation_lines(summaries)
    held_out = []
    if "improved" in args.models:
        for seed in args.seeds:
            out = work / f"predict{seed}"
            metrics = predict_chromosome(work / f"seed{seed}" / "improved", "improved", work / "build/genome.fa",
                                         "chr3", out, length=LENGTH, flank=args.flank, stride=LENGTH,
                                         peaks=files["peaks.narrowPeak.gz"])
            with np.load(out / "chr3.windows.npz") as windows:
                starts = windows["starts"]
            truth = genome.window_labels("chr3", starts, LENGTH)
            oracle_roc = roc_auc(truth, oracle_scores(genome.encode("chr3", starts, LENGTH, args.flank),
                                                      genome.matrix))
            held_out.append((metrics["roc_auc"], oracle_roc))
        print("\nHeld-out chromosome chr3, predicted genome-wide with improved (stride 101): ROC AUC "
              + ", ".join(f"{m:.3f} (oracle {o:.3f}: {m / o:.2f}×)" for m, o in held_out))
    return {"rows": rows, "held_out": held_out}


def real(args: argparse.Namespace) -> dict:
    from tfbinding.data.loader import load_dataset
    from tfbinding.data.split import SplitSpec
    from tfbinding.models.metrics import average_precision, roc_auc

    shared = Path(args.shared)
    work = Path(tempfile.mkdtemp(prefix="tfbinding-real-"))
    inputs = (shared / "chr22.partial.fa.gz", shared / "jund_chr22.regions.narrowPeak")

    def build(folder: Path, split: SplitSpec) -> Path:
        return build_dataset(folder, *inputs, ["chr22"], flank=0, split=split,
                             windows_bed=shared / "jund_chr22.windows.bed", max_n_fraction=1.0)

    results = {}
    dataset = build(work / "random", SplitSpec(method="random", seed=0))
    labels, runs, summaries = seed_runs(dataset, work / "random", args)
    results["random"] = metric_rows(labels, runs, args.bootstrap, reference="motif_baseline")
    print_table(f"Real hg19 chr22 JunD ({shared}), 101-bp windows, the study's random split: test "
                f"{len(labels):,} windows, {int(labels.sum())} positive", results["random"], "motif_baseline")
    ablation_lines(summaries)

    # Leak-free: several block splits (each holds out other blocks), several seeds each; the
    # test split of one holds ~14 positives, so one split alone decides nothing
    per_split: dict[str, list[tuple[float, float, float, float]]] = {}
    positives = []
    for block_seed in args.block_seeds:
        folder = work / f"blocks{block_seed}"
        dataset = build(folder, SplitSpec(method="blocks", block_size=args.block_size, seed=block_seed))
        labels = np.asarray(load_dataset(dataset).test["y"]).ravel()
        positives.append(int(labels.sum()))
        for seed in args.seeds:
            scores, _ = score_models(dataset, folder, seed, tuple(args.models), args.epochs, args.threads)
            scan = scores["motif_baseline"]
            for name, values in scores.items():
                per_split.setdefault(name, []).append((roc_auc(labels, values), average_precision(labels, values),
                                                       roc_auc(labels, scan), average_precision(labels, scan)))
    print(f"\nLeak-free {args.block_size // 1000}-kb block splits: {len(args.block_seeds)} splits (block seeds "
          f"{args.block_seeds}; test positives {positives}, {sum(positives)} in all) x seeds {args.seeds}\n")
    print("| model | ROC AUC, mean ± sd | PR AUC, mean ± sd | ROC AUC ≥ scan | PR AUC ≥ scan | mean PR AUC / scan's |")
    print("|---|---|---|---|---|---|")
    for name, rows in per_split.items():
        rows_array = np.array(rows)
        roc, pr, scan_roc, scan_pr = rows_array.T
        print(f"| {name} | {roc.mean():.3f} ± {roc.std():.3f} | {pr.mean():.3f} ± {pr.std():.3f} | "
              f"{int((roc >= scan_roc).sum())} of {len(rows)} | {int((pr >= scan_pr).sum())} of {len(rows)} | "
              f"{pr.mean() / scan_pr.mean():.2f}× |")
    results["blocks"] = {name: np.array(rows).tolist() for name, rows in per_split.items()}
    return results


def demo(args: argparse.Namespace) -> dict:
    """The demo under the study's random split and under leak-free blocks, each model over
    seeds, with the ablation's verdicts per seed."""
    from tfbinding.data.split import SplitSpec
    from tfbinding.models.ablation import ablation_claims, read_history, summarise_history

    work = Path(tempfile.mkdtemp(prefix="tfbinding-demo-"))
    inputs = REPO / "resources" / "demo"
    views = {
        "random": ("the study's random split, 101-bp rows", 0, SplitSpec(method="random", seed=0)),
        "blocks": ("leak-free 200-kb blocks, 200-bp flanks", 200,
                   SplitSpec(method="blocks", block_size=200_000, seed=0)),
    }
    results = {}
    for key, (title, flank, split) in views.items():
        dataset = build_dataset(work / key, inputs / "synthetic_genome.fa.gz",
                                inputs / "synthetic_peaks.narrowPeak.gz", ["chr1", "chr2"], flank=flank,
                                split=split, blacklist=inputs / "synthetic_blacklist.bed")
        labels, runs, summaries = seed_runs(dataset, work / key, args)
        results[key] = metric_rows(labels, runs, args.bootstrap, reference="motif_baseline")
        print_table(f"The demo, {title}: test {len(labels):,} windows, {int(labels.sum())} positive",
                    results[key], "motif_baseline")
        ablation_lines(summaries)
        print("\nThe study's claims, by seed (from the training histories):\n")
        for seed, summary in zip(args.seeds, summaries):
            claims = ablation_claims({name: summarise_history(read_history(work / key / f"seed{seed}" / name /
                                                                           "history.csv"))
                                      for name in summary if name != "improved"})
            print(f"- seed {seed}: " + "; ".join(f"{claim}: {verdict['verdict']}"
                                                 for claim, verdict in claims.items()))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=("simulated", "demo", "real"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["no_dropout", "no_weights", "full", "improved"])
    parser.add_argument("--epochs", type=int, default=None, help="cap on epochs (default: the config's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--size", type=int, default=6_000_000, help="simulated genome size, bp")
    parser.add_argument("--sites-per-mbp", type=float, default=100.0)
    parser.add_argument("--genome-seed", type=int, default=7)
    parser.add_argument("--flank", type=int, default=200)
    parser.add_argument("--block-size", type=int, default=250_000)
    parser.add_argument("--block-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="real: one leak-free block split per seed")
    parser.add_argument("--negative-fraction", type=float, default=0.25,
                        help="simulated: keep this fraction of train/valid negatives (test stays whole)")
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data" / "jund_chr22"))
    parser.add_argument("--challenge-min-positives", type=int, default=None,
                        help="override tfbinding.models.train.CHALLENGE_MIN_POSITIVES")
    parser.add_argument("--challenge-confidence", type=float, default=None,
                        help="override tfbinding.models.train.CHALLENGE_CONFIDENCE (0: any epoch better on "
                             "validation replaces the motif scan)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"seeds {args.seeds}, models {args.models}")
    if args.challenge_confidence is not None:
        import tfbinding.models.train

        tfbinding.models.train.CHALLENGE_CONFIDENCE = args.challenge_confidence
    if args.challenge_min_positives is not None:
        import tfbinding.models.train

        tfbinding.models.train.CHALLENGE_MIN_POSITIVES = args.challenge_min_positives
    started = time.perf_counter()
    result = {"simulated": simulated, "demo": demo, "real": real}[args.benchmark](args)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
