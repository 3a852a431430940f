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

from .errors import InputError
from .labels import LabelRule
from .options import (LABEL_MODES, PREDICT_FDR, PREDICT_STRIDE, SPLIT_METHODS, TRAINED_MODELS,
                      WEIGHTS_MODES, WindowSpec)
from .split import SplitSpec

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


def _run_prepare_genome(args: argparse.Namespace) -> None:
    from .genome import prepare_fasta
    prepare_fasta(args.fasta, args.out)


def _label_rule(args: argparse.Namespace) -> LabelRule:
    return LabelRule(mode=args.mode, min_overlap_bp=args.min_overlap_bp,
                     min_overlap_fraction=args.min_overlap_fraction,
                     exclude_ambiguous=getattr(args, "exclude_ambiguous", False))


def _add_label_rule(step: argparse.ArgumentParser) -> None:
    step.add_argument("--mode", choices=LABEL_MODES, default=LABEL.mode)
    step.add_argument("--min-overlap-bp", type=int, default=LABEL.min_overlap_bp)
    step.add_argument("--min-overlap-fraction", type=float, default=LABEL.min_overlap_fraction)


def _run_windows(args: argparse.Namespace) -> None:
    from .per_chromosome import build_windows
    build_windows(args.fasta, args.chrom, args.out, length=args.length, stride=args.stride,
                  offset=args.offset, max_n_fraction=args.max_n_fraction,
                  windows_bed=args.windows_bed, blacklist=args.blacklist, aliases=args.aliases)


def _run_labels(args: argparse.Namespace) -> None:
    from .per_chromosome import build_labels
    build_labels(args.windows, args.peaks, args.fasta, args.chrom, args.out, length=args.length,
                 rule=_label_rule(args), aliases=args.aliases,
                 allow_empty_peaks=args.allow_empty_peaks)


def _run_split(args: argparse.Namespace) -> None:
    from .split import split_windows
    split = SplitSpec(method=args.method, fractions=tuple(args.fractions), seed=args.seed,
                      valid=tuple(args.valid), test=tuple(args.test), block_size=args.block_size,
                      negative_fraction=args.negative_fraction)
    split_windows(args.chroms, args.labels, args.out, length=args.length, flank=args.flank,
                  split=split, weights=args.weights)


def _run_onehot(args: argparse.Namespace) -> None:
    from .per_chromosome import build_onehot
    build_onehot(args.split_table, args.fasta, args.chrom, args.out_prefix)


def _run_dataset(args: argparse.Namespace) -> None:
    from .dataset import assemble_dataset, provenance
    inputs = provenance(args.name, args.genome_info, args.peaks, args.blacklist, args.windows_bed,
                        json.loads(args.config_json) if args.config_json else None,
                        urls=json.loads(args.urls_json) if args.urls_json else None)
    manifest = assemble_dataset(args.split_table, args.onehot_prefixes, args.out, provenance=inputs)
    for name, summary in manifest["splits"].items():
        log.info("%s: %d windows, %d positive, weights %s / %s", name, summary["windows"],
                 summary["positives"], summary["weight_negative"], summary["weight_positive"])


def _run_train(args: argparse.Namespace) -> None:
    from .options import TrainingConfig
    from .train import train_model
    config = TrainingConfig(**json.loads(args.training_json)) if args.training_json else TrainingConfig()
    train_model(args.dataset, args.model, args.out_dir, config, threads=args.threads, motif=args.motif)


def _run_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate_models
    models = dict(zip(args.models, args.model_dirs))
    if len(models) != len(args.model_dirs):
        raise InputError("--models and --model-dirs need one entry per model each")
    evaluate_models(args.dataset, models, args.out_dir, motif=args.motif, bootstrap=args.bootstrap,
                    seed=args.seed)


def _run_download(args: argparse.Namespace) -> None:
    from .download import download
    download(args.url, args.out, sha256=args.sha256, md5=args.md5, retries=args.retries,
             timeout=args.timeout, backoff=args.backoff, config_key=args.config_key)


def _run_calibrate(args: argparse.Namespace) -> None:
    from .calibrate import calibrate_threshold
    result = calibrate_threshold(args.model_dir, args.model, args.dataset, args.out, fdr=args.fdr)
    log.info("threshold %.4g: validation FDR %.3f (target %.3f), recall %.3f", result["threshold"],
             result["validation_fdr"], args.fdr, result["validation_recall"])


def _run_predict(args: argparse.Namespace) -> None:
    from .predict import predict_chromosome
    with open(args.threshold) as handle:
        threshold = json.load(handle)["threshold"]
    if threshold is None:  # strict JSON's null for +Infinity: no threshold reached the FDR
        log.warning("%s: no threshold reached the FDR on the validation split; no site is called",
                    args.threshold)
        threshold = float("inf")
    rule = _label_rule(args)
    predict_chromosome(args.model_dir, args.model, args.fasta, args.chrom, args.out_dir,
                       length=args.length, flank=args.flank, stride=args.stride,
                       max_n_fraction=args.max_n_fraction, threshold=threshold, peaks=args.peaks,
                       aliases=args.aliases, rule=rule)


def _run_demo_data(args: argparse.Namespace) -> None:
    from .demo import write_demo_data
    write_demo_data(args.out_dir)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    parser = argparse.ArgumentParser(prog="tfbinding", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    steps = parser.add_subparsers(dest="step", required=True)

    step = steps.add_parser("prepare-genome", help="decompress/normalise and index a FASTA")
    step.add_argument("--fasta", required=True, help="FASTA, plain, gzip or bgzip")
    step.add_argument("--out", required=True, help="the indexed FASTA to write (.fa)")
    step.set_defaults(run=_run_prepare_genome)

    step = steps.add_parser("windows", help="tile or read, and filter, one chromosome's windows")
    step.add_argument("--fasta", required=True)
    step.add_argument("--chrom", required=True)
    step.add_argument("--out", required=True, help=".npz of window starts and drop counts")
    step.add_argument("--length", type=int, default=WINDOW.length)
    step.add_argument("--stride", type=int, default=WINDOW.stride)
    step.add_argument("--offset", type=int, default=WINDOW.offset)
    step.add_argument("--max-n-fraction", type=float, default=WINDOW.max_n_fraction)
    step.add_argument("--windows-bed", type=_optional_path, default=None)
    step.add_argument("--blacklist", type=_optional_path, default=None)
    step.add_argument("--aliases", type=_aliases, default={})
    step.set_defaults(run=_run_windows)

    step = steps.add_parser("labels", help="label one chromosome's windows from peaks")
    step.add_argument("--windows", required=True)
    step.add_argument("--peaks", required=True)
    step.add_argument("--fasta", required=True)
    step.add_argument("--chrom", required=True)
    step.add_argument("--out", required=True)
    step.add_argument("--length", type=int, default=WINDOW.length)
    _add_label_rule(step)
    step.add_argument("--exclude-ambiguous", action="store_true")
    step.add_argument("--aliases", type=_aliases, default={})
    step.add_argument("--allow-empty-peaks", action="store_true",
                      help="build even when the peaks file holds no peak (no positives)")
    step.set_defaults(run=_run_labels)

    step = steps.add_parser("split", help="assign labelled windows to splits and weight them")
    step.add_argument("--chroms", nargs="+", required=True)
    step.add_argument("--labels", nargs="+", required=True, help="one labels .npz per chromosome")
    step.add_argument("--out", required=True, help="the split table (.npz)")
    step.add_argument("--length", type=int, default=WINDOW.length)
    step.add_argument("--flank", type=int, default=WINDOW.flank)
    step.add_argument("--method", choices=SPLIT_METHODS, default=SPLIT.method)
    step.add_argument("--fractions", type=float, nargs=3, default=list(SPLIT.fractions),
                      help="train, valid and test fractions; they must sum to 1")
    step.add_argument("--seed", type=int, default=SPLIT.seed)
    step.add_argument("--valid", nargs="*", default=[])
    step.add_argument("--test", nargs="*", default=[])
    step.add_argument("--block-size", type=int, default=SPLIT.block_size)
    step.add_argument("--negative-fraction", type=float, default=SPLIT.negative_fraction,
                      help="keep this fraction of the negatives of train and valid")
    step.add_argument("--weights", choices=WEIGHTS_MODES, default=WEIGHTS_MODES[0])
    step.set_defaults(run=_run_split)

    step = steps.add_parser("onehot", help="one-hot encode one chromosome's windows")
    step.add_argument("--split-table", required=True)
    step.add_argument("--fasta", required=True)
    step.add_argument("--chrom", required=True)
    step.add_argument("--out-prefix", required=True, help="writes <prefix>.{train,valid,test}.npy")
    step.set_defaults(run=_run_onehot)

    step = steps.add_parser("dataset", help="write the .npy splits and manifest.json")
    step.add_argument("--name", required=True)
    step.add_argument("--split-table", required=True)
    step.add_argument("--onehot-prefixes", nargs="+", required=True,
                      help="the onehot step's --out-prefix of each chromosome, in table order")
    step.add_argument("--out", required=True)
    step.add_argument("--genome-info", required=True, help="the .source.json of prepare-genome")
    step.add_argument("--peaks", required=True)
    step.add_argument("--blacklist", type=_optional_path, default=None)
    step.add_argument("--windows-bed", type=_optional_path, default=None)
    step.add_argument("--config-json", default="", help="the run's config, kept in the manifest")
    step.add_argument("--urls-json", default="",
                      help='the URL each input was downloaded from, e.g. {"fasta": "https://…"}')
    step.set_defaults(run=_run_dataset)

    step = steps.add_parser("train", help="train one model on a dataset")
    step.add_argument("--dataset", required=True, help="results/<name>/dataset")
    step.add_argument("--model", required=True, choices=TRAINED_MODELS)
    step.add_argument("--out-dir", required=True)
    step.add_argument("--training-json", default="", help="the config's training section, as JSON")
    step.add_argument("--motif", type=_optional_path, default=None,
                      help="JASPAR matrix: improved starts as its scan (motif-informed)")
    step.add_argument("--threads", type=int, default=None)
    step.set_defaults(run=_run_train)

    step = steps.add_parser("evaluate", help="evaluate models on the test split")
    step.add_argument("--dataset", required=True)
    step.add_argument("--models", nargs="*", default=[], choices=TRAINED_MODELS)
    step.add_argument("--model-dirs", nargs="*", default=[])
    step.add_argument("--motif", type=_optional_path, default=None, help="JASPAR matrix for motif_baseline")
    step.add_argument("--out-dir", required=True)
    step.add_argument("--bootstrap", type=int, default=1000)
    step.add_argument("--seed", type=int, default=0)
    step.set_defaults(run=_run_evaluate)

    step = steps.add_parser("calibrate", help="choose the site threshold on the validation split")
    step.add_argument("--dataset", required=True)
    step.add_argument("--model", required=True, choices=TRAINED_MODELS)
    step.add_argument("--model-dir", required=True)
    step.add_argument("--out", required=True, help="threshold.json")
    step.add_argument("--fdr", type=float, default=PREDICT_FDR)
    step.set_defaults(run=_run_calibrate)

    step = steps.add_parser("predict", help="score every window of a chromosome; write tracks and sites")
    step.add_argument("--model", required=True, choices=TRAINED_MODELS)
    step.add_argument("--model-dir", required=True)
    step.add_argument("--threshold", required=True, help="threshold.json from calibrate")
    step.add_argument("--fasta", required=True)
    step.add_argument("--chrom", required=True)
    step.add_argument("--out-dir", required=True)
    step.add_argument("--length", type=int, default=WINDOW.length)
    step.add_argument("--flank", type=int, default=WINDOW.flank)
    step.add_argument("--stride", type=int, default=PREDICT_STRIDE)
    step.add_argument("--max-n-fraction", type=float, default=WINDOW.max_n_fraction)
    step.add_argument("--peaks", type=_optional_path, default=None, help="for held-out metrics")
    _add_label_rule(step)
    step.add_argument("--aliases", type=_aliases, default={})
    step.set_defaults(run=_run_predict)

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

    step = steps.add_parser("demo-data", help="write the synthetic demo genome and peaks")
    step.add_argument("--out-dir", default="resources/demo")
    step.set_defaults(run=_run_demo_data)
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
