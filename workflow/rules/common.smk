# The config, read once through tfbinding.workflow_config (coercion, checks, sources,
# checksums, memory: unit-tested there), the names every rule file reads, the input
# functions, and the one function that lists the final targets. Every name that a later
# .smk file uses is defined here.
import json
import os
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from tfbinding.layout import (
    MANIFEST,
    SIGNALS as SIGNAL_ARRAY,
    SPLITS,
    dataset_files,
    fold_dataset_files,
    part_names,
    onehot_path,
    onehot_prefix_in,
    signal_counts_path,
    signal_path,
    signal_prefix_in,
)
from tfbinding.workflow_config import (
    GENOME_STEM,
    ContentIds,
    WorkflowConfig,
    alternatives,
    chrom_memory_mb,
    check_model_keys,
    coerce_overrides,
    dataset_config,
    shell_prefix,
    signals_args as _signals_args,
    task_dirs,
    task_suffixes,
    tasks_arg,
)

# --config overrides arrive as strings ("10"): give them the schema's types first (only
# them: a string in a config file stays an error)
with open(workflow.source_path("../schemas/config.schema.yaml")) as schema_file:
    CONFIG_SCHEMA = yaml.safe_load(schema_file)
config.update(coerce_overrides(config, workflow.config_settings.config, CONFIG_SCHEMA))
validate(config, "../schemas/config.schema.yaml")
# the package's checks and the cross-key checks, before any job runs
WORKFLOW = WorkflowConfig(config)

shell.prefix(
    shell_prefix(
        DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method,
        workflow.basedir,
        sys.executable,
    )
)

# inputs: local paths (a URL's is where the download rule puts it)
DOWNLOAD_FOLDER = config["downloads"]["folder"]
DOWNLOADS = (
    WORKFLOW.sources.downloads
)  # local path -> {"source": URL, "sha256", "md5", "key"}
GENOME_FASTA = WORKFLOW.genome_fasta
PREPARED_FASTA = WORKFLOW.prepared_fasta
TASKS = WORKFLOW.tasks  # task name -> peaks, in config order
TASK_NAMES = WORKFLOW.task_names  # [""] for one task
PEAKS = next(
    iter(TASKS.values())
)  # the first task's peaks (held-out metrics of predict)
SIGNALS = (
    WORKFLOW.signals
)  # signal channels (bigWig), read over each X row: S.npy per split
SIGNAL_BIGWIGS = WORKFLOW.signal_bigwigs
BLACKLIST = WORKFLOW.blacklist
WINDOWS_BED = WORKFLOW.windows_bed
content_id = ContentIds(DOWNLOADS)

NAME = config["name"]
RESULTS = f"results/{NAME}"
CHROMOSOMES = config["chromosomes"]
# a chromosome's intermediates: windows.npz, labels.npz, X.<split>.npy, signals.S.<split>.npy
CHROM_DIR = f"{RESULTS}/chromosomes/{{chrom}}"
DATASET = f"{RESULTS}/dataset"
DATASET_MANIFEST = f"{DATASET}/{MANIFEST}"
# split.folds: K -> the onehot step writes one file per part, the dataset step one dataset
# folder per fold (dataset/fold<k>/), and models, evaluation and predictions go per fold;
# unset: one split (SPLITS), every path as before
FOLDS = config["split"].get("folds")
FOLD_IDS = list(range(FOLDS)) if FOLDS else []
PARTS = part_names(FOLDS)
FOLD_DATASET = f"{DATASET}/fold{{fold}}"
OUT_OF_FOLD = f"{RESULTS}/evaluation/out_of_fold"
DATASET_ENV = "../../envs/dataset.yaml"
MODELS_ENV = "../../envs/models.yaml"
# Only these keys shape the dataset; the manifest records them, and changing the others
# (models, training, evaluation) does not rebuild the dataset.
DATASET_CONFIG = dataset_config(config)
MODELS = config["models"]
TRAINED_MODELS = [m for m in MODELS if m != "motif_baseline"]
EVALUATION = f"{RESULTS}/evaluation"
PREDICT = config["predict"]
HUB = PREDICT["hub"]
INTERPRET = config["interpret"]
VARIANTS = config["variants"]
PREDICTIONS = f"{RESULTS}/predictions"
# a multi-task model's tracks are one set per task, <chrom>.<task>.bw; one task: <chrom>.bw
TASK_SUFFIXES = task_suffixes(TASK_NAMES)
# a multi-task model is explained task by task, each into interpretation/<model>/<task>/
# (interpret.tasks; default every task); one task keeps interpretation/<model>/
TASK_DIRS = task_dirs(WORKFLOW.interpret_tasks)
# the {task_dir} wildcard: "" for one task, else "<task>/" for any task
TASK_DIR_PATTERN = alternatives(task_dirs(TASK_NAMES))
HUB_FILES = (
    [
        f"{PREDICTIONS}/hub/{name}"
        for name in ("hub.txt", "genomes.txt", f"{HUB['genome']}/trackDb.txt")
    ]
    if HUB.get("genome") and PREDICT["chromosomes"]
    else []
)


def final_targets():
    """The default target's files: the dataset, the evaluation when models are set, and
    the genome-wide predictions (per chromosome and merged, per task) with their hub."""
    if FOLDS:
        return fold_targets()
    targets = dataset_files(DATASET)
    if MODELS:
        targets += [
            f"{EVALUATION}/{f}"
            for f in ("metrics.json", "metrics.md", "roc.png", "pr.png", "ablation.md")
        ]
    chromosomes = PREDICT["chromosomes"]
    targets += [
        f"{PREDICTIONS}/{chrom}{task}.{suffix}"
        for chrom in chromosomes
        for task in TASK_SUFFIXES
        for suffix in ("bedGraph", "bw", "sites.narrowPeak")
    ] + [f"{PREDICTIONS}/{chrom}.metrics.json" for chrom in chromosomes]
    if chromosomes:
        # all predicted chromosomes in one bigWig and one narrowPeak, per task
        targets += [
            f"{PREDICTIONS}/{GENOME_STEM}{task}.{suffix}"
            for task in TASK_SUFFIXES
            for suffix in ("bw", "sites.narrowPeak")
        ]
    return targets + HUB_FILES


def fold_targets():
    """With split.folds: the fold datasets, each fold's evaluation, the out-of-fold
    evaluation and the ensemble's genome-wide predictions."""
    targets = fold_dataset_files(DATASET, FOLDS)
    if MODELS:
        targets += [
            f"{EVALUATION}/fold{fold}/{f}"
            for fold in FOLD_IDS
            for f in ("metrics.json", "metrics.md", "ablation.md")
        ] + [f"{OUT_OF_FOLD}/{f}" for f in OUT_OF_FOLD_FILES]
    chromosomes = PREDICT["chromosomes"]
    targets += [
        f"{PREDICTIONS}/{chrom}.{suffix}"
        for chrom in chromosomes
        for suffix in ("bedGraph", "bw", "sites.narrowPeak", "metrics.json")
    ]
    if chromosomes:
        targets += [
            f"{PREDICTIONS}/{GENOME_STEM}.{s}" for s in ("bw", "sites.narrowPeak")
        ]
    return targets + HUB_FILES


#: the out-of-fold step's files (evaluation/out_of_fold/)
OUT_OF_FOLD_FILES = (
    "metrics.json",
    "metrics.md",
    "roc.png",
    "pr.png",
    "scores.npz",
    "ablation.md",
)


def fold_model_files(model, name="model.keras"):
    """Every fold's file of one trained model: models/fold<k>/<model>/<name>."""
    return [f"{RESULTS}/models/fold{fold}/{model}/{name}" for fold in FOLD_IDS]


def checked_interpret_models(wildcards):
    """No file: checks interpret.model and variants.model against models when the
    `interpret` target is built (one line, before any job runs)."""
    check_model_keys(config, interpreting=True)
    return []


def tasks_args():
    """The steps' task names for several tasks ("" for one task)."""
    return tasks_arg(TASKS)


def signals_args():
    """A signal model's bigWigs and transforms, as the dataset read them ("" without)."""
    return _signals_args(SIGNALS, SIGNAL_BIGWIGS, config["signals_missing"])


def optional_input(path):
    """Snakemake input for an optional file: [] when it is not configured."""
    return path if path else []


def aliases_json():
    return json.dumps(config["chrom_aliases"], sort_keys=True)


def chrom_mem_mb(wildcards, input, attempt, bytes_per_base=6):
    """Memory for a per-chromosome step: a few copies of the chromosome, plus headroom."""
    return chrom_memory_mb(
        input.fai, getattr(wildcards, "chrom", None), attempt, bytes_per_base
    )


wildcard_constraints:
    model="|".join(TRAINED_MODELS),
    fold=r"\d+",
