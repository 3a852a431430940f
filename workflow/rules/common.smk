import hashlib
import json
import os
import shlex
import sys
import urllib.parse
from pathlib import Path

import yaml
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from tfbinding.errors import InputError
from tfbinding.data.label_rule import LabelRule
from tfbinding.config import TRAINED_MODELS, WindowSpec, coerce_to_schema, is_task_table
from tfbinding.data.split import SplitSpec
from tfbinding.layout import (
    MANIFEST,
    SIGNALS as SIGNAL_ARRAY,
    SPLITS,
    dataset_files,
    onehot_path,
    onehot_prefix,
    onehot_prefixes,
    signal_counts_path,
    signal_path,
    signal_prefix,
)

# --config overrides arrive as strings ("10"): give them the schema's types first (only
# them: a string in a config file stays an error)
with open(workflow.source_path("../schemas/config.schema.yaml")) as schema_file:
    CONFIG_SCHEMA = yaml.safe_load(schema_file)
config.update(
    coerce_to_schema(
        {key: config[key] for key in workflow.config_settings.config if key in config},
        CONFIG_SCHEMA,
    )
)
validate(config, "../schemas/config.schema.yaml")

# The package's own checks, before any job runs (the steps repeat them); the leak check on
# the windows' real spans runs in the split step, where the windows are known.
try:
    WindowSpec(**{k: v for k, v in config["windows"].items() if k != "bed"})
    LabelRule(**config["labels"])
    SplitSpec(**config["split"])
except InputError as err:
    raise ValueError(f"config: {err}") from None

# The rules find the `tfbinding` command beside the Python that runs Snakemake, so a venv's
# snakemake works without the venv on PATH (cron jobs, cluster scripts, IDEs). File
# descriptor 9 keeps the console: a step's one-line error reaches it although the rule
# sends the step's stderr to its log (tfbinding.cli reads TFBINDING_CONSOLE_FD).
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    # --use-conda: the rule's environment provides Python and the libraries; the package
    # is this repository's src/, run as `python -m tfbinding`
    shell.prefix(
        f"export PYTHONPATH={shlex.quote(str(Path(workflow.basedir) / 'src'))}:\"${{PYTHONPATH:-}}\"; "
        'tfbinding() { python -m tfbinding "$@"; }; '
        "exec 9>&2; export TFBINDING_CONSOLE_FD=9; "
    )
else:
    shell.prefix(
        f'export PATH={shlex.quote(os.path.dirname(sys.executable))}:"$PATH"; '
        "exec 9>&2; export TFBINDING_CONSOLE_FD=9; "
    )


def source_spec(value):
    """A config input as {"source": path-or-URL, "sha256": ..., "md5": ...}."""
    return {"source": value} if isinstance(value, str) else dict(value)


def is_url(source):
    return source.startswith(("http://", "https://", "ftp://"))


def source_key(spec):
    """A short hash that names where an input comes from: its URL (with the checksums the
    config expects) or its absolute path. Two configs whose URLs share a file name (hg19's
    and hg38's chr22.fa.gz) thus never share a downloaded or prepared file."""
    if is_url(spec["source"]):
        identity = "\n".join(
            [
                spec["source"],
                spec.get("sha256", "").lower(),
                spec.get("md5", "").lower(),
            ]
        )
    else:
        identity = os.path.abspath(spec["source"])
    return hashlib.sha1(identity.encode()).hexdigest()[:10]


DOWNLOAD_FOLDER = config["downloads"]["folder"]
DOWNLOADS = {}  # local path -> {"source": URL, "sha256", "md5", "key"}
URLS = {}  # local path -> URL


def local_input(value, key):
    """The local path of a configured input: itself, or where its URL is downloaded to
    (<downloads folder>/<source_key>/<file name>)."""
    if value is None:
        return None
    spec = source_spec(value)
    if not is_url(spec["source"]):
        return spec["source"]
    name = os.path.basename(urllib.parse.urlparse(spec["source"]).path) or "download"
    path = f"{DOWNLOAD_FOLDER}/{source_key(spec)}/{name}"
    DOWNLOADS[path] = {**spec, "key": key}
    URLS[path] = spec["source"]
    return path


GENOME_FASTA = local_input(config["genome"]["fasta"], "genome.fasta")
# peaks: one source (one task, named after the dataset), a list of {name, peaks} tasks, or
# a task table (.tsv: name<TAB>peaks, relative paths taken from the table's folder)
PEAK_TASKS = config["peaks"]
if is_task_table(PEAK_TASKS):
    # imported only here: tfbinding.io.bed brings pysam and pybedtools into Snakemake's process
    from tfbinding.io.bed import read_task_table

    try:
        PEAK_TASKS = read_task_table(PEAK_TASKS)
    except InputError as err:
        raise ValueError(f"config: peaks: {err}") from None
if isinstance(PEAK_TASKS, list):
    TASKS = {
        task["name"]: local_input(task["peaks"], f"peaks.{task['name']}")
        for task in PEAK_TASKS
    }
    if len(TASKS) != len(PEAK_TASKS):
        raise ValueError(
            f"config: peaks names a task twice: {[t['name'] for t in PEAK_TASKS]}"
        )
else:
    TASKS = {config["name"]: local_input(config["peaks"], "peaks")}
PEAKS = next(
    iter(TASKS.values())
)  # the first task's peaks (held-out metrics of predict)


def task_names_arg():
    """--task-names for several tasks (one task keeps the single-peaks command line)."""
    if len(TASKS) == 1:
        return ""
    return "--task-names " + " ".join(shlex.quote(name) for name in TASKS)


def signals_args():
    """A signal model's bigWigs and transforms, as the dataset read them ("" without);
    SIGNALS and SIGNAL_BIGWIGS come from dataset.smk."""
    if not SIGNALS:
        return ""
    transforms = " ".join(signal.get("transform", "none") for signal in SIGNALS)
    return (
        "--bigwigs "
        + " ".join(shlex.quote(path) for path in SIGNAL_BIGWIGS)
        + f" --transforms {transforms} --signals-missing {config['signals_missing']}"
    )


BLACKLIST = local_input(config["blacklist"], "blacklist")
WINDOWS_BED = local_input(config["windows"]["bed"], "windows.bed")

NAME = config["name"]
RESULTS = f"results/{NAME}"
CHROMOSOMES = config["chromosomes"]
DATASET = f"{RESULTS}/dataset"
DATASET_MANIFEST = f"{DATASET}/{MANIFEST}"
DATASET_FILES = dataset_files(DATASET)
DATASET_ENV = "../../envs/dataset.yaml"
MODELS_ENV = "../../envs/models.yaml"
# Only these keys shape the dataset; the manifest records them, and changing the others
# (models, training, evaluation) does not rebuild the dataset.
DATASET_CONFIG = {
    key: value
    for key, value in config.items()
    if key
    not in (
        "models",
        "training",
        "evaluation",
        "motif",
        "downloads",
        "predict",
        "interpret",
        "variants",
    )
}
MODELS = config["models"]
TRAINED_MODELS = [m for m in MODELS if m != "motif_baseline"]
MODEL_FILES = ["model.keras", "history.csv", "curves.png"]
EVALUATION = f"{RESULTS}/evaluation"
PREDICT = config["predict"]
if PREDICT["chromosomes"] and PREDICT["model"] not in MODELS:
    raise ValueError(
        f"config: predict.model {PREDICT['model']!r} is not in models {MODELS}; add it"
    )
INTERPRET = config["interpret"]
VARIANTS = config["variants"]
PREDICTIONS = f"{RESULTS}/predictions"
# a multi-task model's tracks are one set per task, <chrom>.<task>.bw; one task: <chrom>.bw
TASK_SUFFIXES = [f".{task}" for task in TASKS] if len(TASKS) > 1 else [""]
PREDICTION_FILES = [
    f"{PREDICTIONS}/{chrom}{task}.{suffix}"
    for chrom in PREDICT["chromosomes"]
    for task in TASK_SUFFIXES
    for suffix in ("bedGraph", "bw", "sites.narrowPeak")
] + [f"{PREDICTIONS}/{chrom}.metrics.json" for chrom in PREDICT["chromosomes"]]
# all predicted chromosomes in one bigWig and one narrowPeak (rule merge_predictions), per task
GENOME_PREDICTIONS = [
    f"{PREDICTIONS}/genome{task}.{suffix}"
    for task in TASK_SUFFIXES
    for suffix in ("bw", "sites.narrowPeak")
]
if "genome" in PREDICT["chromosomes"]:
    raise ValueError(
        "config: predict.chromosomes names a chromosome 'genome', whose files would be the "
        "merged genome.bw and genome.sites.narrowPeak; rename it in the FASTA (and peaks)"
    )
if PREDICT["chromosomes"]:
    PREDICTION_FILES += GENOME_PREDICTIONS
# a UCSC track hub of the genome-wide bigWigs (rule track_hub), when predict.hub.genome is set
HUB = PREDICT["hub"]
if HUB.get("genome") and not HUB.get("email"):
    raise ValueError(
        "config: predict.hub.email is not set; a track hub needs a contact email"
    )
HUB_FILES = (
    [
        f"{PREDICTIONS}/hub/{name}"
        for name in ("hub.txt", "genomes.txt", f"{HUB['genome']}/trackDb.txt")
    ]
    if HUB.get("genome") and PREDICT["chromosomes"]
    else []
)
PREDICTION_FILES += HUB_FILES
EVALUATION_FILES = [
    f"{EVALUATION}/{f}"
    for f in ("metrics.json", "metrics.md", "roc.png", "pr.png", "ablation.md")
]


def genome_stem(path):
    """The file name without .fa/.fasta/.gz."""
    name = Path(path).name
    for suffix in (".gz", ".bgz", ".fa", ".fasta", ".fna"):
        name = name.removesuffix(suffix)
    return name


# resources/genomes/<source_key>/<stem>.fa: one prepared copy per source, never shared
PREPARED_FASTA = (
    f"resources/genomes/{source_key(source_spec(config['genome']['fasta']))}/"
    f"{genome_stem(GENOME_FASTA)}.fa"
)

# Content, not mtime: a local input replaced by other content with an older mtime (cp -p,
# rsync -a, tar x) must rebuild what depends on it. Its sha256 is a rule parameter, and
# Snakemake reruns a job whose parameters changed. The digests are cached by (size, mtime,
# ctime, inode): ctime changes on every write and no copy tool can set it.
CHECKSUM_CACHE = Path(".snakemake/tfbinding/checksums.json")


def _read_checksum_cache():
    try:
        return json.loads(CHECKSUM_CACHE.read_text())
    except (OSError, ValueError):
        return {}


_CHECKSUMS = _read_checksum_cache()


def content_id(path):
    """What identifies an input's content: the sha256 of a local file, or the URL (and
    checksums) of a download; "" for no input (or a missing file, which Snakemake reports).
    """
    if not path:
        return ""
    if path in DOWNLOADS:
        return f"{DOWNLOADS[path]['source']}#{source_key(DOWNLOADS[path])}"
    try:
        info = os.stat(path)
    except OSError:
        return ""
    stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
    absolute = os.path.abspath(path)
    cached = _CHECKSUMS.get(absolute)
    if cached and cached["stamp"] == stamp:
        return cached["sha256"]
    from tfbinding.atomic import save_json
    from tfbinding.checksums import sha256sum

    digest = sha256sum(path)
    _CHECKSUMS[absolute] = {"stamp": stamp, "sha256": digest}
    try:
        save_json(CHECKSUM_CACHE, _CHECKSUMS)
    except OSError:
        pass  # a read-only working folder: recomputed next time
    return digest


def optional_input(path):
    """Snakemake input for an optional file: [] when it is not configured."""
    return path if path else []


def aliases_json():
    return json.dumps(config["chrom_aliases"], sort_keys=True)


def chrom_mem_mb(wildcards, input, attempt, bytes_per_base=6):
    """Memory for a per-chromosome step: a few copies of the chromosome, plus headroom."""
    sizes = {}
    with open(input.fai) as handle:
        for line in handle:
            name, size = line.split("\t")[:2]
            sizes[name] = int(size)
    size = sizes.get(
        getattr(wildcards, "chrom", None), max(sizes.values())
    )  # else the largest
    return int((500 + bytes_per_base * size / 1e6) * attempt)


wildcard_constraints:
    model="|".join(TRAINED_MODELS),
