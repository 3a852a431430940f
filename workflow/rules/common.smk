import json
import os
import shlex
import sys
import urllib.parse
from pathlib import Path

from snakemake.utils import validate

from tfbinding.errors import InputError
from tfbinding.labels import LabelRule
from tfbinding.options import TRAINED_MODELS, WindowSpec
from tfbinding.split import SplitSpec


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
# snakemake works without the venv on PATH (cron jobs, cluster scripts, IDEs).
shell.prefix(f"export PATH={shlex.quote(os.path.dirname(sys.executable))}:\"$PATH\"; ")

def source_spec(value):
    """A config input as {"source": path-or-URL, "sha256": ..., "md5": ...}."""
    return {"source": value} if isinstance(value, str) else dict(value)


DOWNLOAD_FOLDER = config["downloads"]["folder"]
DOWNLOADS = {}  # local path -> {"source": URL, "sha256", "md5", "key"}


def local_input(value, key):
    """The local path of a configured input: itself, or where its URL is downloaded to."""
    if value is None:
        return None
    spec = source_spec(value)
    if not spec["source"].startswith(("http://", "https://", "ftp://")):
        return spec["source"]
    name = os.path.basename(urllib.parse.urlparse(spec["source"]).path) or "download"
    path = f"{DOWNLOAD_FOLDER}/{name}"
    DOWNLOADS[path] = {**spec, "key": key}
    return path


GENOME_FASTA = local_input(config["genome"]["fasta"], "genome.fasta")
PEAKS = local_input(config["peaks"], "peaks")
BLACKLIST = local_input(config["blacklist"], "blacklist")
WINDOWS_BED = local_input(config["windows"]["bed"], "windows.bed")

NAME = config["name"]
RESULTS = f"results/{NAME}"
CHROMOSOMES = config["chromosomes"]
SPLITS = ["train", "valid", "test"]
ARRAYS = ["X", "y", "w", "ids"]
DATASET = f"{RESULTS}/dataset"
DATASET_FILES = [f"{DATASET}/manifest.json"] + [
    f"{DATASET}/{split}/{array}.npy" for split in SPLITS for array in ARRAYS
]
CONDA_ENV = "../../envs/tfbinding.yaml"
# Only these keys shape the dataset; the manifest records them, and changing the others
# (models, training, evaluation) does not rebuild the dataset.
DATASET_CONFIG = {
    key: value
    for key, value in config.items()
    if key not in ("models", "training", "evaluation", "motif", "downloads", "predict")
}
MODELS = config["models"]
TRAINED_MODELS = [m for m in MODELS if m != "motif_baseline"]
MODEL_FILES = ["model.keras", "history.csv", "curves.png"]
EVALUATION = f"{RESULTS}/evaluation"
PREDICT = config["predict"]
if PREDICT["chromosomes"] and PREDICT["model"] not in MODELS:
    raise ValueError(f"config: predict.model {PREDICT['model']!r} is not in models {MODELS}; add it")
PREDICTIONS = f"{RESULTS}/predictions"
PREDICTION_FILES = [
    f"{PREDICTIONS}/{chrom}.{suffix}"
    for chrom in PREDICT["chromosomes"]
    for suffix in ("bedGraph", "bw", "sites.bed", "metrics.json")
]
EVALUATION_FILES = [f"{EVALUATION}/{f}" for f in ("metrics.json", "metrics.md", "roc.png", "pr.png")]


def genome_stem(path):
    """resources/genomes/<stem>.fa: the file name without .fa/.fasta/.gz."""
    name = Path(path).name
    for suffix in (".gz", ".bgz", ".fa", ".fasta", ".fna"):
        name = name.removesuffix(suffix)
    return name


PREPARED_FASTA = f"resources/genomes/{genome_stem(GENOME_FASTA)}.fa"


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
    size = sizes.get(wildcards.chrom, max(sizes.values()))
    return int((500 + bytes_per_base * size / 1e6) * attempt)


wildcard_constraints:
    model="|".join(TRAINED_MODELS),
