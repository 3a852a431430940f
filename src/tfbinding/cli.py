"""The ``tfbinding`` command: one sub-command per workflow step.

Each step reads files and writes files atomically; the Snakemake rules only call these.
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from typing import Sequence

from tfbinding.config import (
    LABEL_MODES,
    PREDICT_ENGINES,
    PREDICT_FDR,
    PREDICT_STRIDE,
    SIGNAL_MISSING,
    SIGNAL_TRANSFORMS,
    SPLIT_METHODS,
    TRAINED_MODELS,
    WEIGHTS_MODES,
    WindowSpec,
    uses_reverse_complement,
)
from tfbinding.data.label_rule import LabelRule
from tfbinding.data.split import NEGATIVE_MODES, SplitSpec
from tfbinding.errors import InputError
from tfbinding.layout import ONEHOT_STEM, SIGNALS_STEM, SPLITS, onehot_prefix_in, signal_prefix_in

log = logging.getLogger("tfbinding")
WINDOW = WindowSpec()
LABEL = LabelRule()
SPLIT = SplitSpec()


def _aliases(text: str) -> dict[str, str]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--aliases takes a JSON object, e.g. '{\"22\": \"chr22\"}'")
    return {str(k): str(v) for k, v in value.items()}


def _optional_path(text: str) -> str | None:
    return text or None


def _one_or_many(paths: Sequence[str]) -> str | list[str]:
    """One path for one task, the list for several (the steps' ``peaks``)."""
    return paths[0] if len(paths) == 1 else list(paths)


# ----------------------------------------------------------------- shared argument groups
# One vocabulary: a single output file is --out, an output folder --out-dir; task names
# --tasks; the signals' missing-value rule --signals-missing; choices from tfbinding.config.

def _add_genome(step: argparse.ArgumentParser, *, chrom: bool = True, required: bool = True) -> None:
    """--fasta (the prepared FASTA), --chrom (one chromosome) and --aliases (config name -> FASTA name)."""
    group = step.add_argument_group("genome")
    group.add_argument("--fasta", required=required, type=None if required else _optional_path,
                       default=None, help="the prepared FASTA (prepare-genome)")
    if chrom:
        group.add_argument("--chrom", required=True)
    group.add_argument("--aliases", type=_aliases, default={},
                       help="chromosome aliases as JSON, e.g. '{\"22\": \"chr22\"}'")


def _add_window(step: argparse.ArgumentParser, *, tiling: bool = False, flank: bool = False) -> None:
    """The window geometry: --length, and with ``tiling`` --stride --offset --max-n-fraction; --flank."""
    group = step.add_argument_group("windows")
    group.add_argument("--length", type=int, default=WINDOW.length)
    if flank:
        group.add_argument("--flank", type=int, default=WINDOW.flank)
    if tiling:
        group.add_argument("--stride", type=int, default=WINDOW.stride)
        group.add_argument("--offset", type=int, default=WINDOW.offset)
        group.add_argument("--max-n-fraction", type=float, default=WINDOW.max_n_fraction)


def _add_label_rule(step: argparse.ArgumentParser) -> None:
    group = step.add_argument_group("label rule")
    group.add_argument("--mode", choices=LABEL_MODES, default=LABEL.mode)
    group.add_argument("--min-overlap-bp", type=int, default=LABEL.min_overlap_bp)
    group.add_argument("--min-overlap-fraction", type=float, default=LABEL.min_overlap_fraction)


def _label_rule(args: argparse.Namespace) -> LabelRule:
    return LabelRule(mode=args.mode, min_overlap_bp=args.min_overlap_bp,
                     min_overlap_fraction=args.min_overlap_fraction,
                     exclude_ambiguous=getattr(args, "exclude_ambiguous", False))


def _add_model(step: argparse.ArgumentParser, *, model_dir: bool = True, ensemble: bool = False) -> None:
    """--model (a trained model's name) and --model-dir (its folder; with ``ensemble``, one
    or more: the K fold models, averaged).
    """
    step.add_argument("--model", required=True, choices=TRAINED_MODELS)
    if model_dir:
        step.add_argument("--model-dir", required=True, nargs="+" if ensemble else None,
                          help="several: the fold models of split.folds, scored as their mean" if ensemble
                          else None)


def _add_tasks(step: argparse.ArgumentParser, help: str, nargs: str = "*") -> None:
    """--tasks: a multi-task model's or dataset's task names (none for one task)."""
    step.add_argument("--tasks", "--task-names", dest="tasks", nargs=nargs, default=None, help=help)


def _add_signals_missing(group) -> None:
    group.add_argument("--signals-missing", "--missing", dest="signals_missing", choices=SIGNAL_MISSING,
                       default=SIGNAL_MISSING[0], help="zero: read NaN and missing chromosomes as 0 (counted)")


def _add_signals(step: argparse.ArgumentParser) -> None:
    """A signal model's tracks: --bigwigs and --transforms, or a dataset's manifest."""
    group = step.add_argument_group("signals")
    group.add_argument("--bigwigs", nargs="*", default=[], help="a signal model's bigWigs, in channel order")
    group.add_argument("--transforms", nargs="*", default=[], choices=SIGNAL_TRANSFORMS,
                       help="one per bigWig, as the dataset was built (default none)")
    _add_signals_missing(group)
    group.add_argument("--signals-dataset", type=_optional_path, default=None,
                       help="or take the bigWigs and transforms from this dataset's manifest")


def _signal_tracks(args: argparse.Namespace):
    from tfbinding.io.bigwig import tracks_from_args
    return tracks_from_args(args.bigwigs, args.transforms, args.signals_missing, args.signals_dataset)


def _add_threads(step: argparse.ArgumentParser) -> None:
    step.add_argument("--threads", type=int, default=None)


# ------------------------------------------------------------------------- the steps

def _prepare_genome(steps) -> None:
    step = steps.add_parser("prepare-genome", help="decompress/normalise and index a FASTA")
    step.add_argument("--fasta", required=True, help="FASTA, plain, gzip or bgzip")
    step.add_argument("--out", required=True, help="the indexed FASTA to write (.fa)")
    step.set_defaults(run=_run_prepare_genome)


def _run_prepare_genome(args: argparse.Namespace) -> None:
    from tfbinding.data.prepare_genome import prepare_fasta
    prepare_fasta(args.fasta, args.out)


def _windows(steps) -> None:
    step = steps.add_parser("windows", help="tile or read, and filter, one chromosome's windows")
    _add_genome(step)
    step.add_argument("--out", required=True, help=".npz of window starts and drop counts")
    _add_window(step, tiling=True)
    step.add_argument("--windows-bed", type=_optional_path, default=None)
    step.add_argument("--blacklist", type=_optional_path, default=None)
    step.add_argument("--gc", action="store_true", help="also store each window's G+C fraction "
                      "(for split.negatives: gc_matched)")
    step.set_defaults(run=_run_windows)


def _run_windows(args: argparse.Namespace) -> None:
    from tfbinding.data.windows import build_windows
    build_windows(args.fasta, args.chrom, args.out, length=args.length, stride=args.stride,
                  offset=args.offset, max_n_fraction=args.max_n_fraction,
                  windows_bed=args.windows_bed, blacklist=args.blacklist, aliases=args.aliases,
                  gc=args.gc)


def _labels(steps) -> None:
    step = steps.add_parser("labels", help="label one chromosome's windows from peaks")
    step.add_argument("--windows", required=True)
    step.add_argument("--peaks", nargs="+", required=True, help="one peaks file per task")
    _add_tasks(step, "one name per peaks file")
    _add_genome(step)
    step.add_argument("--out", required=True)
    _add_window(step)
    _add_label_rule(step)
    step.add_argument("--exclude-ambiguous", action="store_true")
    step.add_argument("--allow-empty-peaks", action="store_true",
                      help="build even when the peaks file holds no peak (no positives)")
    step.set_defaults(run=_run_labels)


def _run_labels(args: argparse.Namespace) -> None:
    from tfbinding.data.labels import build_labels
    build_labels(args.windows, _one_or_many(args.peaks), args.fasta, args.chrom, args.out,
                 length=args.length, rule=_label_rule(args), aliases=args.aliases,
                 allow_empty_peaks=args.allow_empty_peaks,
                 task_names=args.tasks if len(args.peaks) > 1 else None)


def _split(steps) -> None:
    step = steps.add_parser("split", help="assign labelled windows to splits and weight them")
    step.add_argument("--chroms", nargs="+", required=True)
    step.add_argument("--labels", nargs="+", required=True, help="one labels .npz per chromosome")
    step.add_argument("--out", required=True, help="the split table (.npz)")
    _add_window(step, flank=True)
    group = step.add_argument_group("split")
    group.add_argument("--method", choices=SPLIT_METHODS, default=SPLIT.method)
    group.add_argument("--fractions", type=float, nargs=3, default=list(SPLIT.fractions),
                       help="train, valid and test fractions; they must sum to 1")
    group.add_argument("--seed", type=int, default=SPLIT.seed)
    group.add_argument("--valid", nargs="*", default=[])
    group.add_argument("--test", nargs="*", default=[])
    group.add_argument("--block-size", type=int, default=SPLIT.block_size)
    group.add_argument("--negative-fraction", type=float, default=SPLIT.negative_fraction,
                       help="keep this fraction of the negatives of train and valid")
    group.add_argument("--negatives", choices=NEGATIVE_MODES, default=SPLIT.negatives,
                       help="gc_matched: per G+C bin, keep gc_ratio x as many negatives as positives")
    group.add_argument("--gc-bin-width", type=float, default=SPLIT.gc_bin_width)
    group.add_argument("--gc-ratio", type=float, default=SPLIT.gc_ratio)
    group.add_argument("--gc-match-test", action="store_true", help="GC-match the test split too")
    group.add_argument("--folds", type=int, default=None,
                       help="K >= 3 leak-free parts (blocks or chromosome); fold k tests on part k")
    step.add_argument("--weights", choices=WEIGHTS_MODES, default=WEIGHTS_MODES[0])
    step.set_defaults(run=_run_split)


def _run_split(args: argparse.Namespace) -> None:
    from tfbinding.data.split import split_windows
    split = SplitSpec(method=args.method, fractions=tuple(args.fractions), seed=args.seed,
                      valid=tuple(args.valid), test=tuple(args.test), block_size=args.block_size,
                      negative_fraction=args.negative_fraction, negatives=args.negatives,
                      gc_bin_width=args.gc_bin_width, gc_ratio=args.gc_ratio,
                      gc_match_test=args.gc_match_test, folds=args.folds)
    split_windows(args.chroms, args.labels, args.out, length=args.length, flank=args.flank,
                  split=split, weights=args.weights)


def _onehot(steps) -> None:
    step = steps.add_parser("onehot", help="one-hot encode one chromosome's windows")
    step.add_argument("--split-table", required=True)
    _add_genome(step)
    step.add_argument("--out-dir", required=True,
                      help=f"the chromosome's folder; writes {ONEHOT_STEM}.{{train,valid,test}}.npy")
    step.set_defaults(run=_run_onehot)


def _run_onehot(args: argparse.Namespace) -> None:
    from tfbinding.data.onehot import build_onehot
    build_onehot(args.split_table, args.fasta, args.chrom, onehot_prefix_in(args.out_dir))


def _signals(steps) -> None:
    step = steps.add_parser("signals", help="read bigWig signal tracks over one chromosome's rows")
    step.add_argument("--split-table", required=True)
    group = step.add_argument_group("signals")
    group.add_argument("--bigwigs", nargs="+", required=True, help="one bigWig per channel")
    group.add_argument("--transforms", nargs="+", required=True, choices=SIGNAL_TRANSFORMS)
    _add_signals_missing(group)
    _add_genome(step)
    step.add_argument("--out-dir", required=True, help=f"the chromosome's folder; writes "
                      f"{SIGNALS_STEM}.S.{{train,valid,test}}.npy and {SIGNALS_STEM}.S.json")
    step.set_defaults(run=_run_signals)


def _run_signals(args: argparse.Namespace) -> None:
    from tfbinding.data.signals import build_signals
    counts = build_signals(args.split_table, args.bigwigs, args.transforms, args.fasta, args.chrom,
                           signal_prefix_in(args.out_dir), missing=args.signals_missing)
    log.info("%s: signals read; set to zero: %s", args.chrom, counts)


def _dataset(steps) -> None:
    step = steps.add_parser("dataset", help="write the .npy splits and manifest.json")
    step.add_argument("--name", required=True)
    step.add_argument("--split-table", required=True)
    step.add_argument("--chrom-dirs", nargs="+", required=True,
                      help="the onehot (and signals) steps' --out-dir of each chromosome, in table order")
    step.add_argument("--out-dir", required=True, help="the dataset folder")
    step.add_argument("--genome-info", required=True, help="the .source.json of prepare-genome")
    step.add_argument("--peaks", nargs="+", required=True, help="one peaks file per task")
    _add_tasks(step, "one name per peaks file")
    step.add_argument("--blacklist", type=_optional_path, default=None)
    step.add_argument("--windows-bed", type=_optional_path, default=None)
    step.add_argument("--signals-json", default="",
                      help="the config's signals, kept in the manifest; with any, S.npy per split")
    step.add_argument("--config-json", default="", help="the run's config, kept in the manifest")
    step.add_argument("--urls-json", default="",
                      help='the URL each input was downloaded from, e.g. {"fasta": "https://…"}')
    step.set_defaults(run=_run_dataset)


def _run_dataset(args: argparse.Namespace) -> None:
    from tfbinding.data.dataset import assemble_dataset, provenance
    signals = json.loads(args.signals_json) if args.signals_json else None
    inputs = provenance(args.name, args.genome_info, _one_or_many(args.peaks), args.blacklist,
                        args.windows_bed, json.loads(args.config_json) if args.config_json else None,
                        urls=json.loads(args.urls_json) if args.urls_json else None,
                        task_names=args.tasks or None)
    manifest = assemble_dataset(args.split_table, [onehot_prefix_in(d) for d in args.chrom_dirs],
                                args.out_dir, provenance=inputs,
                                signal_prefixes=[signal_prefix_in(d) for d in args.chrom_dirs] if signals else None,
                                signals=signals)
    for part in manifest.get("parts", []):  # split.folds: each part, then each fold's splits
        log.info("part %d: %d windows, %d positive", part["part"], part["windows"], part["positives"])
    for name, summary in manifest.get("splits", {}).items():
        log.info("%s: %d windows, %d positive, weights %s / %s", name, summary["windows"],
                 summary["positives"], summary.get("weight_negative"), summary.get("weight_positive"))


def _train(steps) -> None:
    step = steps.add_parser("train", help="train one model on a dataset")
    step.add_argument("--dataset", required=True, help="results/<name>/dataset")
    _add_model(step, model_dir=False)
    step.add_argument("--out-dir", required=True)
    step.add_argument("--training-json", default="", help="the config's training section, as JSON")
    step.add_argument("--motif", type=_optional_path, default=None,
                      help="JASPAR matrix: improved starts as its scan (motif-informed)")
    _add_threads(step)
    step.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> None:
    from tfbinding.config import TrainingConfig
    from tfbinding.models.train import train_model
    config = TrainingConfig(**json.loads(args.training_json)) if args.training_json else TrainingConfig()
    train_model(args.dataset, args.model, args.out_dir, config, threads=args.threads, motif=args.motif)


def _evaluate(steps) -> None:
    step = steps.add_parser("evaluate", help="evaluate models on the test split")
    step.add_argument("--dataset", required=True)
    step.add_argument("--models", nargs="*", default=[], choices=TRAINED_MODELS)
    step.add_argument("--model-dirs", nargs="*", default=[], help="one per --models entry")
    step.add_argument("--motif", type=_optional_path, default=None, help="JASPAR matrix for motif_baseline")
    step.add_argument("--out-dir", required=True)
    step.add_argument("--bootstrap", type=int, default=1000)
    step.add_argument("--seed", type=int, default=0)
    step.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> None:
    from tfbinding.models.evaluate import evaluate_models
    models = dict(zip(args.models, args.model_dirs))  # the arguments' pairing, no step logic
    if len(models) != len(args.model_dirs):
        raise InputError("--models and --model-dirs need one entry per model each")
    evaluate_models(args.dataset, models, args.out_dir, motif=args.motif, bootstrap=args.bootstrap,
                    seed=args.seed)


def _cross_validate(steps) -> None:
    step = steps.add_parser("cross-validate", help="out-of-fold metrics of K-fold models")
    step.add_argument("--scores", nargs="+", required=True, help="evaluation/fold<k>/test_scores.npz, k = 0 ..")
    step.add_argument("--metrics", nargs="+", required=True, help="evaluation/fold<k>/metrics.json, same order")
    step.add_argument("--fold-dirs", nargs="+", required=True, help="models/fold<k>, same order")
    step.add_argument("--models", nargs="*", default=[], choices=TRAINED_MODELS, help="trained models")
    step.add_argument("--out-dir", required=True)
    step.add_argument("--bootstrap", type=int, default=1000)
    step.add_argument("--seed", type=int, default=0)
    step.add_argument("--fdr", type=float, default=PREDICT_FDR, help="the ensemble site threshold's FDR")
    step.set_defaults(run=_run_cross_validate)


def _run_cross_validate(args: argparse.Namespace) -> None:
    from tfbinding.models.cross_validate import cross_validate
    model_dirs = [{model: os.path.join(folder, model) for model in args.models} for folder in args.fold_dirs]
    cross_validate(args.scores, args.metrics, model_dirs, args.out_dir, bootstrap=args.bootstrap,
                   seed=args.seed, fdr=args.fdr)


def _calibrate(steps) -> None:
    step = steps.add_parser("calibrate", help="choose the site threshold on the validation split")
    step.add_argument("--dataset", required=True)
    _add_model(step)
    step.add_argument("--out", required=True, help="threshold.json")
    step.add_argument("--fdr", type=float, default=PREDICT_FDR)
    step.set_defaults(run=_run_calibrate)


def _run_calibrate(args: argparse.Namespace) -> None:
    from tfbinding.genomewide.calibrate import calibrate_threshold
    result = calibrate_threshold(args.model_dir, args.model, args.dataset, args.out, fdr=args.fdr)
    for task, entry in result.get("tasks", {"": result}).items():
        log.info("%sthreshold %.4g: validation FDR %.3f (target %.3f), recall %.3f",
                 f"{task}: " if task else "", entry["threshold"], entry["validation_fdr"], args.fdr,
                 entry["validation_recall"])


def _predict(steps) -> None:
    step = steps.add_parser("predict", help="score every window of a chromosome; write tracks and sites")
    _add_model(step, ensemble=True)
    step.add_argument("--threshold", required=True, help="threshold.json from calibrate")
    _add_genome(step)
    step.add_argument("--out-dir", required=True)
    _add_window(step, flank=True)
    step.add_argument("--stride", type=int, default=PREDICT_STRIDE)
    step.add_argument("--max-n-fraction", type=float, default=WINDOW.max_n_fraction)
    step.add_argument("--engine", choices=PREDICT_ENGINES, default="auto",
                      help="scan: the trunk once along the chromosome; per_window: each row (the reference); "
                           "auto: scan where exact")
    step.add_argument("--peaks", nargs="*", default=[], help="for held-out metrics; one per task")
    _add_tasks(step, "a multi-task model's tasks (default: its training.json's)")
    _add_label_rule(step)
    _add_signals(step)
    step.set_defaults(run=_run_predict)


def _run_predict(args: argparse.Namespace) -> None:
    from tfbinding.genomewide.predict import predict_step
    model_dirs = args.model_dir[0] if len(args.model_dir) == 1 else args.model_dir
    predict_step(model_dirs, args.model, args.fasta, args.chrom, args.out_dir,
                 threshold_file=args.threshold, peaks=args.peaks, length=args.length, flank=args.flank,
                 stride=args.stride, max_n_fraction=args.max_n_fraction, aliases=args.aliases,
                 rule=_label_rule(args), signals=_signal_tracks(args), tasks=args.tasks or None,
                 engine=args.engine)


def _merge_predictions(steps) -> None:
    step = steps.add_parser("merge-predictions",
                            help="merge per-chromosome bigWigs and sites into one genome-wide pair")
    step.add_argument("--chroms", nargs="+", required=True, help="one per bigWig, in the same order")
    step.add_argument("--bigwigs", nargs="+", required=True, help="predict's <chrom>.bw files")
    step.add_argument("--sites", nargs="+", required=True, help="predict's <chrom>.sites.narrowPeak files")
    step.add_argument("--fai", required=True, help="the prepared FASTA's .fai (the bigWig's header)")
    step.add_argument("--out-bigwig", required=True, help="e.g. predictions/genome.bw")
    step.add_argument("--out-sites", required=True, help="e.g. predictions/genome.sites.narrowPeak")
    step.set_defaults(run=_run_merge_predictions)


def _run_merge_predictions(args: argparse.Namespace) -> None:
    from tfbinding.genomewide.merge_predictions import merge_predictions
    merged = merge_predictions(args.bigwigs, args.sites, args.chroms, args.fai, args.out_bigwig,
                               args.out_sites)
    log.info("%d chromosomes: %d track intervals in %s, %d sites in %s", merged["chromosomes"],
             merged["intervals"], args.out_bigwig, merged["sites"], args.out_sites)


def _track_hub(steps) -> None:
    step = steps.add_parser("track-hub", help="a UCSC track hub of the genome-wide bigWigs")
    step.add_argument("--out-dir", required=True, help="e.g. predictions/hub")
    step.add_argument("--genome", required=True, help="UCSC assembly of the chromosome names, e.g. hg19")
    step.add_argument("--email", required=True, help="the hub's contact")
    step.add_argument("--name", required=True, help="the hub's name (the dataset's)")
    step.add_argument("--model", required=True, help="the model that predicted (shown in the labels)")
    step.add_argument("--bigwigs", nargs="+", required=True, help="merge-predictions' genome[.<task>].bw")
    _add_tasks(step, "a multi-task model's tasks, one per bigWig", nargs="+")
    step.set_defaults(run=_run_track_hub)


def _run_track_hub(args: argparse.Namespace) -> None:
    from tfbinding.genomewide.track_hub import track_hub_step
    out = track_hub_step(args.out_dir, args.genome, args.bigwigs, args.tasks, name=args.name,
                         email=args.email, model=args.model)
    log.info("track hub for %s in %s: paste the URL of hub.txt into the browser's Track Hubs page",
             args.genome, out)


def _export_deepchem(steps) -> None:
    step = steps.add_parser("export-deepchem",
                            help="write each split as a DeepChem DiskDataset folder (no deepchem needed)")
    step.add_argument("--dataset", required=True, help="results/<name>/dataset")
    step.add_argument("--out-dir", required=True, help="receives train/, valid/ and test/")
    step.add_argument("--shard-size", type=int, default=None,
                      help="windows per shard (default: about 64 MB of X per shard)")
    step.set_defaults(run=_run_export_deepchem)


def _run_export_deepchem(args: argparse.Namespace) -> None:
    from tfbinding.io.export_deepchem import export_deepchem
    export_deepchem(args.dataset, args.out_dir, shard_size=args.shard_size)


def _download(steps) -> None:
    step = steps.add_parser("download", help="fetch a URL with retries and a checksum check")
    step.add_argument("--url", required=True)
    step.add_argument("--out", required=True)
    step.add_argument("--sha256", type=_optional_path, default=None)
    step.add_argument("--md5", type=_optional_path, default=None)
    step.add_argument("--retries", type=int, default=3)
    step.add_argument("--timeout", type=float, default=60.0)
    step.add_argument("--backoff", type=float, default=1.0)
    step.add_argument("--config-key", default="the input", help="named in the offline error")
    step.set_defaults(run=_run_download)


def _run_download(args: argparse.Namespace) -> None:
    from tfbinding.io.download import download
    download(args.url, args.out, sha256=args.sha256, md5=args.md5, retries=args.retries,
             timeout=args.timeout, backoff=args.backoff, config_key=args.config_key)


def _explain(steps) -> None:
    step = steps.add_parser("explain", help="per-base contributions (integrated gradients) and ISM of windows")
    _add_model(step, ensemble=True)  # several: the fold models, explained as their mean logit
    step.add_argument("--out", required=True, help="attributions.npz")
    step.add_argument("--dataset", type=_optional_path, default=None, help="take windows from this dataset")
    step.add_argument("--splits", nargs="+", default=["test"], choices=SPLITS, help="of the dataset (default: test)")
    step.add_argument("--all-windows", action="store_true", help="not only the positives")
    step.add_argument("--max-windows", type=int, default=0, help="a seeded sample of at most this many")
    step.add_argument("--bed", type=_optional_path, default=None, help="or take these regions (centred)")
    _add_genome(step, chrom=False, required=False)
    step.add_argument("--steps", type=int, default=32, help="integrated-gradients steps")
    step.add_argument("--ism-windows", type=int, default=0, help="saturation mutagenesis of the top N windows")
    _add_threads(step)
    step.add_argument("--task", type=_optional_path, default=None,
                      help="a multi-task model's task to explain (one name of its --tasks)")
    _add_signals(step)
    step.set_defaults(run=_run_explain)


def _run_explain(args: argparse.Namespace) -> None:
    from tfbinding.interpret.explain import explain
    explain(args.model_dir, args.out, dataset_dir=args.dataset, bed=args.bed, fasta=args.fasta,
            aliases=args.aliases, splits=tuple(args.splits), positives_only=not args.all_windows,
            max_windows=args.max_windows or None, rc_average=uses_reverse_complement(args.model),
            steps=args.steps, ism_windows=args.ism_windows or None, threads=args.threads,
            task=args.task, signals=_signal_tracks(args))


def _discover_motifs(steps) -> None:
    step = steps.add_parser("discover-motifs", help="TF-MoDISco-lite patterns, logos, JASPAR matches")
    step.add_argument("--attributions", required=True)
    step.add_argument("--out-dir", required=True)
    step.add_argument("--jaspar-release", default="JASPAR2026")
    step.add_argument("--matches", type=int, default=10, help="JASPAR matches listed per pattern")
    step.add_argument("--motif", type=_optional_path, default=None,
                      help="the factor's JASPAR matrix: when TF-MoDISco finds nothing, report its aligned matches")
    step.add_argument("--no-small-data", dest="small_data", action="store_false",
                      help="stop after TF-MoDISco's own settings (no scaled thresholds, no matrix-aligned seqlets)")
    _add_threads(step)
    step.set_defaults(run=_run_discover_motifs)


def _run_discover_motifs(args: argparse.Namespace) -> None:
    from tfbinding.interpret.discover_motifs import discover_motifs
    discover_motifs(args.attributions, args.out_dir, jaspar_release=args.jaspar_release,
                    n_matches=args.matches, threads=args.threads, motif=args.motif,
                    small_data=args.small_data)


def _insilico(steps) -> None:
    from tfbinding.interpret.insilico import BACKGROUND_MODES, InsilicoSettings
    defaults = InsilicoSettings()
    step = steps.add_parser("insilico", help="in-silico marginalization, spacing and ablation experiments")
    _add_model(step)
    step.add_argument("--dataset", required=True, help="the dataset whose negative windows give the backgrounds")
    step.add_argument("--out-dir", required=True)
    step.add_argument("--motif", type=_optional_path, default=None, help="the factor's JASPAR count matrix")
    step.add_argument("--patterns", type=_optional_path, default=None, help="patterns.npz of discover-motifs")
    step.add_argument("--attributions", type=_optional_path, default=None,
                      help="the attributions.npz of those patterns (its windows are ablated)")
    step.add_argument("--backgrounds", type=int, default=defaults.backgrounds)
    step.add_argument("--background", choices=BACKGROUND_MODES, default=defaults.background)
    step.add_argument("--max-spacing", type=int, default=defaults.max_spacing)
    step.add_argument("--spacing-motifs", type=int, default=defaults.spacing_motifs)
    step.add_argument("--max-patterns", type=int, default=defaults.max_patterns)
    step.add_argument("--ablations", type=int, default=defaults.ablations)
    step.add_argument("--bootstrap", type=int, default=defaults.bootstrap)
    step.add_argument("--seed", type=int, default=defaults.seed)
    step.add_argument("--task", type=_optional_path, default=None, help="a multi-task model's task")
    _add_threads(step)
    step.set_defaults(run=_run_insilico)


def _run_insilico(args: argparse.Namespace) -> None:
    from tfbinding.interpret.insilico import InsilicoSettings, insilico
    settings = InsilicoSettings(args.backgrounds, args.background, args.max_spacing, args.spacing_motifs,
                                args.max_patterns, args.ablations, args.bootstrap, args.seed)
    insilico(args.model_dir, args.dataset, args.out_dir, motif=args.motif, patterns=args.patterns,
             attributions=args.attributions, settings=settings,
             rc_average=uses_reverse_complement(args.model), threads=args.threads, task=args.task)


def _score_variants(steps) -> None:
    step = steps.add_parser("score-variants", help="ref/alt scores of the SNVs of a VCF")
    _add_model(step)
    step.add_argument("--vcf", required=True, help="plain, or bgzipped with a tabix index")
    _add_genome(step, chrom=False)
    step.add_argument("--out-tsv", required=True)
    step.add_argument("--out-vcf", required=True, help="annotated copy (.vcf.gz, tabix-indexed)")
    step.add_argument("--out-summary", type=_optional_path, default=None)
    step.add_argument("--allow-ref-mismatch", action="store_true",
                      help="flag variants whose REF disagrees with the FASTA instead of failing")
    step.add_argument("--fold-model-dirs", nargs="*", default=[],
                      help="the folds of the model: their probabilities are averaged (in place of --model-dir)")
    step.add_argument("--both-strands", action="store_true",
                      help="average both strands whatever the model (the improved model always does)")
    step.add_argument("--shifts", type=int, default=0, help="also score windows moved 1..k bp either way")
    step.add_argument("--null-size", type=int, default=0, help="background SNVs of the null (0: no p-values)")
    step.add_argument("--null-seed", type=int, default=0)
    step.add_argument("--peaks", type=_optional_path, default=None,
                      help="BED/narrowPeak: the null avoids them; in_peak says which variants overlap one")
    step.add_argument("--motif", type=_optional_path, default=None, help="the factor's JASPAR count matrix")
    step.add_argument("--top", type=int, default=0, help="contribution logos of the top variants")
    step.add_argument("--logo-dir", type=_optional_path, default=None)
    step.add_argument("--patterns", nargs="*", default=[],
                      help="patterns.npz of discover-motifs (one per task): pattern_* columns")
    step.add_argument("--sites", type=_optional_path, default=None,
                      help="the predict step's sites (narrowPeak): the in_site column")
    step.add_argument("--sites-chromosomes", nargs="*", default=None,
                      help="the chromosomes the prediction covered (in_site is '.' elsewhere)")
    step.add_argument("--engine", choices=("auto", "scan", "per_window"), default="auto",
                      help="scan each allele's shifted windows at once where the model allows")
    _add_threads(step)
    _add_tasks(step, "a multi-task model's tasks (default: its training.json's)")
    _add_signals(step)
    step.set_defaults(run=_run_score_variants)


def _run_score_variants(args: argparse.Namespace) -> None:
    from tfbinding.interpret.score_variants import score_vcf
    score_vcf(args.fold_model_dirs or args.model_dir, args.vcf, args.fasta, args.out_tsv, args.out_vcf,
              args.out_summary, rc_average=uses_reverse_complement(args.model) or args.both_strands,
              allow_ref_mismatch=args.allow_ref_mismatch, aliases=args.aliases, threads=args.threads,
              signals=_signal_tracks(args), tasks=args.tasks or None, shifts=args.shifts,
              null_size=args.null_size, null_seed=args.null_seed, peaks=args.peaks or None,
              motif=args.motif or None, top=args.top, logo_dir=args.logo_dir or None,
              patterns=args.patterns or None, sites=args.sites or None,
              sites_chromosomes=args.sites_chromosomes, engine=args.engine)


def _demo_data(steps) -> None:
    step = steps.add_parser("demo-data", help="write the synthetic demo genome and peaks")
    step.add_argument("--out-dir", default="resources/demo")
    step.set_defaults(run=_run_demo_data)


def _run_demo_data(args: argparse.Namespace) -> None:
    from tfbinding.synthetic.demo import write_demo_data
    write_demo_data(args.out_dir)


#: one argument builder per step, in the order of the workflow
STEPS = (_prepare_genome, _windows, _labels, _split, _onehot, _dataset, _signals, _train, _evaluate,
         _cross_validate, _calibrate, _predict, _merge_predictions, _track_hub, _export_deepchem, _download, _explain,
         _discover_motifs, _insilico, _score_variants, _demo_data)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    parser = argparse.ArgumentParser(prog="tfbinding", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    steps = parser.add_subparsers(dest="step", required=True)
    for add_step in STEPS:
        add_step(steps)
    return parser


#: output errors reported as one line (the atomic writers leave nothing complete behind)
_OUTPUT_ERRORS = {
    errno.ENOSPC: "no space left on the device. Free some space (or point the output "
                  "elsewhere) and rerun; nothing half-written was kept",
    errno.EDQUOT: "the disk quota is exceeded. Free some space and rerun; nothing "
                  "half-written was kept",
    errno.EROFS: "the file system is read-only. Run in a writable folder",
    errno.EACCES: "permission denied. Check the folder's permissions, or run in a "
                  "writable folder",
    errno.EPERM: "operation not permitted. Check the folder's permissions",
}
#: set by the workflow's shell prefix: a file descriptor that still reaches the console
#: while a rule's stderr goes to its log
CONSOLE_FD = "TFBINDING_CONSOLE_FD"


def _report(message: str) -> None:
    """Print the one-line error to stderr, and to the console too when run by the workflow."""
    line = f"tfbinding error: {message}"
    print(line, file=sys.stderr)
    fd = os.environ.get(CONSOLE_FD, "")
    if fd.isdigit():
        try:
            os.write(int(fd), (line + "\n").encode("utf-8", "replace"))
        except OSError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tfbinding`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="tfbinding %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        args.run(args)
    except InputError as err:
        _report(str(err))
        return 1
    except OSError as err:
        if err.errno not in _OUTPUT_ERRORS:
            raise
        where = err.filename if err.filename is not None else "writing the output"
        _report(f"{where}: {_OUTPUT_ERRORS[err.errno]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
