"""The workflow's config, read once: coercion, cross-key checks, sources, checksums, memory.

``workflow/rules/common.smk`` calls these; none of them needs Snakemake, so their tests run
without a build. :class:`WorkflowConfig` holds what the rules read from a validated config:
the local path of every input (and the downloads that provide the URLs among them), the
tasks, the prepared FASTA's path and the final targets' building blocks.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any, Iterable, Mapping

from tfbinding.config import WindowSpec, coerce_to_schema, is_multi_task, is_task_table, task_names
from tfbinding.errors import InputError
from tfbinding.io.sources import download_path, is_url, source_key, source_spec

#: config keys that do not shape the dataset; changing them does not rebuild it
NOT_DATASET_KEYS = ("models", "training", "evaluation", "motif", "downloads", "predict", "interpret",
                    "variants", "insilico")
#: where the content checksums of local inputs are cached, relative to the working folder
CHECKSUM_CACHE = Path(".snakemake/tfbinding/checksums.json")
#: the merged genome-wide files' stem; no chromosome may take it
GENOME_STEM = "genome"
#: the FASTA file endings that :func:`genome_stem` strips
FASTA_SUFFIXES = (".gz", ".bgz", ".fa", ".fasta", ".fna")


def coerce_overrides(config: Mapping[str, Any], overridden: Iterable[str], schema: dict) -> dict[str, Any]:
    """The ``--config`` overrides (strings such as ``"10"``) in the schema's types.

    Only the overridden keys are coerced: a string in a config file stays an error for the
    schema's validation to report.
    """
    return coerce_to_schema({key: config[key] for key in overridden if key in config}, schema)


def check_config(config: Mapping[str, Any], targets: Iterable[str] = ()) -> None:
    """The package's checks of a schema-valid config, and the checks across keys.

    The split step repeats the leak check on the windows' real spans, where they are known.
    Every key that names a model is checked against ``models`` where it is used:
    ``predict.model`` when ``predict.chromosomes`` is set; ``interpret.model`` and
    ``variants.model`` (with ``variants.vcf``) when ``interpret`` is among ``targets``
    (the workflow checks these in the ``interpret`` rule's input function).

    Raises
    ------
    ValueError
        ``config: <what is wrong>``, before any job runs.
    """
    from tfbinding.data.label_rule import LabelRule
    from tfbinding.data.split import SplitSpec

    try:
        WindowSpec(**{k: v for k, v in config["windows"].items() if k != "bed"})
        LabelRule(**config["labels"])
        SplitSpec(**config["split"])
    except InputError as err:
        raise ValueError(f"config: {err}") from None
    predict = config["predict"]
    if predict["chromosomes"] and predict["model"] not in config["models"]:
        raise ValueError(f"config: predict.model {predict['model']!r} is not in models "
                         f"{config['models']}; add it")
    check_model_keys(config, interpreting="interpret" in set(targets or ()))
    if GENOME_STEM in predict["chromosomes"]:
        raise ValueError(
            f"config: predict.chromosomes names a chromosome '{GENOME_STEM}', whose files would be "
            f"the merged {GENOME_STEM}.bw and {GENOME_STEM}.sites.narrowPeak; rename it in the FASTA "
            "(and peaks)")
    if config["split"].get("folds") and config.get("insilico", {}).get("default_target"):
        raise ValueError("config: insilico.default_target is true with split.folds, but the insilico step "
                         "reads one model and one dataset, not K fold models; set "
                         "insilico.default_target: false, or run it without split.folds")
    hub = predict["hub"]
    if hub.get("genome") and not hub.get("email"):
        raise ValueError("config: predict.hub.email is not set; a track hub needs a contact email")
    if hub.get("genome"):
        from tfbinding.text import check_email, check_identifier

        try:  # the values the hub step writes, checked before any job runs
            check_identifier(hub["genome"], "predict.hub.genome")
            check_email(hub["email"], "predict.hub.email")
        except InputError as err:
            raise ValueError(f"config: {err}") from None
        if not predict["chromosomes"]:
            raise ValueError("config: predict.hub is set but predict.chromosomes is empty, so no track "
                             "would be predicted and no hub built; list the chromosomes to predict in "
                             "predict.chromosomes, or remove predict.hub")


def check_model_keys(config: Mapping[str, Any], interpreting: bool = False) -> None:
    """When ``interpreting`` (the ``interpret`` target, whose jobs read them),
    ``interpret.model`` and (if ``variants.vcf`` is set) ``variants.model`` must be trained
    models of ``models``; other targets do not read them, so a config that trains other
    models still builds.

    Raises
    ------
    ValueError
        ``config: <key>.model <model> is not in models ...``: one line, with what to do.
    """
    trained = [model for model in config["models"] if model != "motif_baseline"]
    for key, used in (("variants", bool(config["variants"]["vcf"]) and interpreting),
                      ("interpret", interpreting)):
        model = config[key]["model"]
        if used and model not in trained:
            raise ValueError(f"config: {key}.model {model!r} is not in models {config['models']} (or is "
                             f"not a trained model); add it to models, or set {key}.model to one of "
                             f"{trained or 'the models you train'}")


def genome_stem(path: str) -> str:
    """The file name without .fa/.fasta/.gz."""
    name = Path(path).name
    for suffix in FASTA_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def dataset_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keys that shape the dataset (the manifest records them)."""
    return {key: value for key, value in config.items() if key not in NOT_DATASET_KEYS}


def alternatives(values: Iterable[str]) -> str:
    """A wildcard constraint matching exactly one of ``values`` (none: matches nothing)."""
    return "(?:" + "|".join(re.escape(value) for value in values) + ")" if values else "(?!)"


class Sources:
    """The download registry: each configured input's local path, and the URLs behind them.

    Parameters
    ----------
    folder : str
        The downloads folder (``downloads.folder``); a URL's file goes to
        ``<folder>/<source_key>/<file name>``.
    """

    def __init__(self, folder: str):
        self.folder = folder
        #: local path -> {"source": URL, "sha256", "md5", "key"}
        self.downloads: dict[str, dict[str, Any]] = {}

    def local(self, value: str | Mapping[str, Any] | None, key: str) -> str | None:
        """The local path of a configured input: itself, or where its URL is downloaded to."""
        if value is None:
            return None
        spec = source_spec(value)
        if not is_url(spec["source"]):
            return spec["source"]
        path = download_path(self.folder, spec)
        self.downloads[path] = {**spec, "key": key}
        return path

    def url(self, path: str | None) -> str | None:
        """The URL that a local path is downloaded from (None for a local input)."""
        return self.downloads[path]["source"] if path in self.downloads else None


def read_tasks(config: Mapping[str, Any], sources: Sources) -> dict[str, str]:
    """The tasks' peaks, task name -> local path, in config order.

    ``peaks`` is one source (one task, named after the dataset), a list of ``{name, peaks}``
    tasks, or a task table (``.tsv``: name<TAB>peaks, relative paths from the table's folder).
    """
    peaks = config["peaks"]
    if is_task_table(peaks):
        # imported only here: tfbinding.io.bed brings pysam and pybedtools into Snakemake's process
        from tfbinding.io.bed import read_task_table

        try:
            peaks = read_task_table(peaks)
        except InputError as err:
            raise ValueError(f"config: peaks: {err}") from None
    if not isinstance(peaks, list):
        return {config["name"]: sources.local(peaks, "peaks")}
    tasks = {task["name"]: sources.local(task["peaks"], f"peaks.{task['name']}") for task in peaks}
    if len(tasks) != len(peaks):
        raise ValueError(f"config: peaks names a task twice: {[t['name'] for t in peaks]}")
    return tasks


def interpret_tasks(config: Mapping[str, Any], tasks: Iterable[str]) -> list[str]:
    """The tasks to explain (``interpret.tasks``, default every task); ``[""]`` for one task."""
    tasks = task_names(list(tasks))
    if not is_multi_task(tasks):
        return tasks
    chosen = config["interpret"]["tasks"] or tasks
    unknown = [task for task in chosen if task not in tasks]
    if unknown:
        raise ValueError(f"config: interpret.tasks names {unknown}, which are not tasks of peaks "
                         f"({tasks}); choose among those")
    return list(chosen)


def task_suffixes(names: Iterable[str]) -> list[str]:
    """File-name infixes of per-task outputs: ``".<task>"`` each, ``""`` for the unnamed task.

    ``names`` as :func:`tfbinding.config.task_names` gives them (``[""]`` for one task).
    """
    return [f".{task}" if task else "" for task in names]


def task_dirs(names: Iterable[str]) -> list[str]:
    """Per-task sub-folders of interpretation outputs: ``"<task>/"`` each, ``""`` for the unnamed task."""
    return [f"{task}/" if task else "" for task in names]


def tasks_arg(tasks: Iterable[str]) -> str:
    """The steps' task names for several tasks; "" for one task (the single-task command line)."""
    tasks = task_names(list(tasks))
    return "--tasks " + " ".join(shlex.quote(name) for name in tasks) if is_multi_task(tasks) else ""


def signals_args(signals: list[Mapping[str, Any]], bigwigs: list[str], missing: str) -> str:
    """A signal model's bigWigs, transforms and missing-value rule, as the dataset read them
    ("" without signals).
    """
    if not signals:
        return ""
    transforms = " ".join(signal.get("transform", "none") for signal in signals)
    return ("--bigwigs " + " ".join(shlex.quote(path) for path in bigwigs)
            + f" --transforms {transforms} --signals-missing {missing}")


class ContentIds:
    """What identifies an input's content, for a rule parameter: content, not mtime.

    A local input replaced by other content with an older mtime (cp -p, rsync -a, tar x)
    must rebuild what depends on it; its sha256 is a rule parameter, and Snakemake reruns a
    job whose parameters changed. The digests are cached in ``cache`` by (size, mtime, ctime,
    inode): ctime changes on every write and no copy tool can set it.

    Parameters
    ----------
    downloads : mapping
        :attr:`Sources.downloads`: a downloaded input is named by its URL and checksums.
    cache : path
        The cache file (JSON); unreadable or absent: start empty.
    """

    def __init__(self, downloads: Mapping[str, Mapping[str, Any]], cache: str | os.PathLike = CHECKSUM_CACHE):
        self.downloads = downloads
        self.cache = Path(cache)
        try:
            self.digests = json.loads(self.cache.read_text())
        except (OSError, ValueError):
            self.digests = {}

    def __call__(self, path: str | None) -> str:
        """The sha256 of a local file, or the URL (and checksums) of a download; "" for no
        input (or a missing file, which Snakemake reports).
        """
        if not path:
            return ""
        if path in self.downloads:
            return f"{self.downloads[path]['source']}#{source_key(self.downloads[path])}"
        try:
            info = os.stat(path)
        except OSError:
            return ""
        stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        absolute = os.path.abspath(path)
        cached = self.digests.get(absolute)
        if cached and cached["stamp"] == stamp:
            return cached["sha256"]
        from tfbinding.atomic import save_json
        from tfbinding.checksums import sha256sum

        digest = sha256sum(path)
        self.digests[absolute] = {"stamp": stamp, "sha256": digest}
        try:
            save_json(self.cache, self.digests)
        except OSError:
            pass  # a read-only working folder: recomputed next time
        return digest


def chrom_memory_mb(fai: str | os.PathLike, chrom: str | None, attempt: int = 1,
                    bytes_per_base: float = 6) -> int:
    """Memory for a per-chromosome step: a few copies of the chromosome, plus headroom.

    Parameters
    ----------
    fai : path
        The FASTA index (``.fai``) that gives the chromosomes' sizes.
    chrom : str or None
        The chromosome; unknown or None: the largest.
    attempt : int
        Snakemake's attempt number; memory grows with each retry.
    bytes_per_base : float
        Bytes the step holds per base of the chromosome.
    """
    sizes = {}
    with open(fai) as handle:
        for line in handle:
            name, size = line.split("\t")[:2]
            sizes[name] = int(size)
    size = sizes.get(chrom, max(sizes.values()))
    return int((500 + bytes_per_base * size / 1e6) * attempt)


def shell_prefix(conda: bool, basedir: str | os.PathLike, python: str) -> str:
    """The rules' shell prefix, so that ``tfbinding`` is the package beside the running Python.

    With ``--use-conda`` the rule's environment provides Python and the libraries, and the
    package is this repository's ``src/``, run as ``python -m tfbinding``; otherwise the
    ``tfbinding`` command beside ``python`` (a venv's snakemake works without the venv on
    PATH). File descriptor 9 keeps the console: a step's one-line error reaches it although
    the rule sends the step's stderr to its log (:mod:`tfbinding.cli` reads
    ``TFBINDING_CONSOLE_FD``).
    """
    console = "exec 9>&2; export TFBINDING_CONSOLE_FD=9; "
    if conda:
        return (f"export PYTHONPATH={shlex.quote(str(Path(basedir) / 'src'))}:\"${{PYTHONPATH:-}}\"; "
                'tfbinding() { python -m tfbinding "$@"; }; ' + console)
    return f'export PATH={shlex.quote(os.path.dirname(python))}:"$PATH"; ' + console


class WorkflowConfig:
    """What the rules read from a schema-valid config, resolved once.

    Parameters
    ----------
    config : mapping
        The validated config (defaults filled by the schema).
    targets : iterable of str, default ()
        Snakemake's requested targets (``interpret`` turns on its model checks).
    """

    def __init__(self, config: Mapping[str, Any], targets: Iterable[str] = ()):
        check_config(config, targets)
        self.config = config
        self.sources = Sources(config["downloads"]["folder"])
        local = self.sources.local
        self.genome_fasta = local(config["genome"]["fasta"], "genome.fasta")
        self.tasks = read_tasks(config, self.sources)
        if config["split"].get("folds") and len(self.tasks) > 1:
            raise ValueError("config: split.folds with several tasks is not supported yet (out-of-fold "
                             "metrics and ensembles are single-task); use one peaks file, or no folds")
        self.interpret_tasks = interpret_tasks(config, self.tasks)
        self.signals = list(config["signals"])
        self.signal_bigwigs = [local(signal["bigwig"], f"signals.{signal['name']}") for signal in self.signals]
        self.blacklist = local(config["blacklist"], "blacklist")
        self.windows_bed = local(config["windows"]["bed"], "windows.bed")
        # resources/genomes/<source_key>/<stem>.fa: one prepared copy per source, never shared
        self.prepared_fasta = (f"resources/genomes/{source_key(source_spec(config['genome']['fasta']))}/"
                               f"{genome_stem(self.genome_fasta)}.fa")

    @property
    def task_names(self) -> list[str]:
        """The tasks as the steps name them (``[""]`` for one task)."""
        return task_names(list(self.tasks))

    def urls(self) -> dict[str, Any]:
        """The inputs' URLs (None for local ones), for the manifest."""
        peaks = [self.sources.url(path) for path in self.tasks.values()]
        return {"fasta": self.sources.url(self.genome_fasta),
                "peaks": peaks if is_multi_task(list(self.tasks)) else peaks[0],
                "blacklist": self.sources.url(self.blacklist),
                "windows_bed": self.sources.url(self.windows_bed)}

    def signals_json(self) -> str:
        """Each signal channel with its local bigWig (``file``), for the manifest's inputs."""
        return json.dumps([{**signal, "file": path} for signal, path in zip(self.signals, self.signal_bigwigs)],
                          sort_keys=True)
