#!/usr/bin/env python
"""The whole genome-wide path, timed: an hg19-size synthetic genome with planted JunD
sites, from the FASTA to one genome-wide bigWig and one sites file, through Snakemake.

The genome: the 22 autosomes at their hg19 lengths (times ``--scale``), simulated by
:func:`tfbinding.synthetic.simulate.simulate` in pieces of at most 25 Mbp (two pieces at a
time, each its own seed, about 1 GB each), so that generation stays within a few GB: an
isochore/CpG-depleted background with soft-masked repeats and N gaps (each piece starts
with a 10-kb N run, like a gap), ``--peaks-per-mbp`` ChIP-like peaks per Mbp (one in 11
without a site), a site of the JUND matrix planted in each bound peak (JASPAR 2026 CORE
MA0491.3, read offline from pyjaspar's ``JASPAR2026`` release; Rauluseviciute et al. 2024,
Nucleic Acids Res. 52(D1):D174-D182), decoys of the matrix outside peaks and co-factor
sites, as the simulator's defaults make them. The genome and its truth (``genome.fa``,
``peaks.narrowPeak``, ``planted_sites.bed``) are kept in ``--workdir/inputs`` and reused.

The run: config/jund_hg19_genome.yaml's shape (101-bp windows at stride 101, no flank,
chromosome split with chr8 valid and chr1 + chr21 test, ``--negative-fraction`` of the
train/valid negatives kept, balanced weights, no blacklist), ``models: [improved]``
(motif-informed from the same MA0491.3 file) with ``training.improved_epochs: --epochs``,
and ``predict`` of every autosome at stride 50 with ``improved`` (site threshold at 10%
FDR on chr8), merged by ``merge_predictions`` into ``genome.bw`` and
``genome.sites.narrowPeak``. It runs ``snakemake --cores 2`` from a clean workdir (only the
simulated inputs are kept) and prints, per stage (prepare_genome, the dataset rules,
train, calibrate, predict, merge_predictions): the span from its first job's start to
its last job's end (Snakemake's log, 1-s resolution), the summed and the largest job
seconds (Snakemake's benchmark TSVs), the summed CPU seconds and the largest peak RSS
(VmHWM) of its ``tfbinding`` processes (polled every 50 ms); the whole path's wall time;
windows predicted and windows/s; training's samples/s and its extrapolation to the full
config's training (``negative_fraction`` 0.05, 15 epochs, when shortened); a scaling
estimate for 16 cores and for a cluster (extrapolated from the measured per-job times);
the held-out chr1/chr21 metrics of ``predict``; and whether the called sites overlap the
planted peaks more than the same sites placed at random on their chromosomes.

Usage: python benchmarks/genome_path.py --workdir DIR [--scale 1.0] [--peaks-per-mbp 10]
       [--negative-fraction 0.05] [--epochs 2] [--json FILE]

A quick try: ``--scale 0.02`` (58 Mbp, a few minutes). Figures only, no assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from build_dataset import HG19_AUTOSOMES, PollingThread, machine, read_benchmark_tsvs, run_watched  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NAME = "hg19_synthetic_path"
VALID, TEST = ["chr8"], ["chr1", "chr21"]
JASPAR_RELEASE, JASPAR_ID = "JASPAR2026", "MA0491.3"
#: piece length (bp) simulated at once: a multiple of the FASTA's 60-column lines
PIECE_BP = 25_000_020
#: the full config's training (config/jund_hg19_genome.yaml and the schema's defaults)
FULL_NEGATIVE_FRACTION, FULL_EPOCHS = 0.05, 15
#: the stages, in path order: the tfbinding CLI step (RssWatch) and Snakemake rule names
STAGES = ("prepare_genome", "windows", "labels", "split", "onehot", "dataset", "train", "calibrate",
          "predict", "merge_predictions")
PER_CHROMOSOME = ("windows", "labels", "onehot", "predict")
#: threads per job of each rule (workflow/rules/*.smk)
THREADS = {"train": 2, "calibrate": 2, "predict": 2}
GENERATOR_VERSION = 1


# --- the simulated genome, piece by piece --------------------------------------------------

def jund_counts() -> np.ndarray:
    """MA0491.3's (L, 4) A, C, G, T counts, from the JASPAR release pyjaspar ships offline."""
    from pyjaspar import jaspardb

    motif = jaspardb(release=JASPAR_RELEASE).fetch_motif_by_id(JASPAR_ID)
    return np.array([motif.counts[base] for base in "ACGT"], np.float64).T


def _pieces(sizes: dict[str, int]) -> list[tuple[int, str, int, int, int]]:
    """(seed, chromosome, piece index, offset, length) of every piece, in file order."""
    out = []
    for c, (name, size) in enumerate(sizes.items()):
        count = -(-size // PIECE_BP)
        piece = -(-size // count // 60) * 60  # near-equal pieces, whole FASTA lines but the last
        for i, offset in enumerate(range(0, size, piece)):
            out.append((1000 * (c + 1) + i, name, i, offset, min(piece, size - offset)))
    return out


def _simulate_piece(task: tuple) -> tuple[str, int, int, bytes, np.ndarray, np.ndarray]:
    """One piece: its FASTA lines (no header) and its peaks and sites, offset to the chromosome."""
    from tfbinding.synthetic.fasta import fasta_lines
    from tfbinding.synthetic.simulate import GenomeSpec, simulate

    (seed, name, index, offset, length), counts, peaks_per_mbp = task
    bound = round(length / 1e6 * peaks_per_mbp / (1 + GenomeSpec.peaks_without_site))
    spec = GenomeSpec(seed=seed, chromosomes={name: length}, motif_counts=counts, n_snv_sites=0,
                      n_sites=max(1, bound))
    genome = simulate(spec)
    peaks, sites = genome.peaks.copy(), genome.sites.copy()
    for column in ("start", "end", "summit"):
        peaks[column] += offset
    for column in ("start", "end"):
        sites[column] += offset
    return name, index, length, fasta_lines(genome.sequences[name]), peaks, sites


def write_planted_genome(folder: Path, scale: float, peaks_per_mbp: float) -> dict:
    """``genome.fa``, ``peaks.narrowPeak`` and ``planted_sites.bed`` (every planted site, BED6,
    name = kind) in ``folder``; reused when ``genome.json`` records the same settings."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {name: int(size * scale) for name, size in HG19_AUTOSOMES.items()}
    settings = {"version": GENERATOR_VERSION, "scale": scale, "peaks_per_mbp": peaks_per_mbp,
                "piece_bp": PIECE_BP, "motif": f"{JASPAR_RELEASE} {JASPAR_ID}", "sizes": sizes}
    info_path = folder / "genome.json"
    files = {key: folder / name for key, name in (("fasta", "genome.fa"), ("peaks", "peaks.narrowPeak"),
                                                  ("sites", "planted_sites.bed"))}
    if info_path.exists() and all(p.exists() for p in files.values()):
        info = json.loads(info_path.read_text())
        if info["settings"] == settings:
            return {**info, "reused": True, **{f"{k}_path": str(v) for k, v in files.items()}}
    begin = time.perf_counter()
    counts = jund_counts()
    tasks = [(piece, counts, peaks_per_mbp) for piece in _pieces(sizes)]
    n_peaks, kinds = 0, {}
    with open(f"{files['fasta']}.tmp", "wb") as fasta, open(f"{files['peaks']}.tmp", "w") as peak_file, \
            open(f"{files['sites']}.tmp", "w") as site_file, Pool(2) as pool:
        for name, index, length, lines, peaks, sites in pool.imap(_simulate_piece, tasks):
            if index == 0:
                fasta.write(f">{name} simulated, not real sequence\n".encode())
            fasta.write(lines)
            peak_file.writelines(
                f"{name}\t{p['start']}\t{p['end']}\tpeak{n_peaks + i}\t{min(1000, int(p['signal'] * 20))}\t.\t"
                f"{p['signal']:.3f}\t-1\t-1\t{p['summit'] - p['start']}\n" for i, p in enumerate(peaks))
            n_peaks += len(peaks)
            site_file.writelines(f"{name}\t{s['start']}\t{s['end']}\t{s['kind']}\t"
                                 f"{int(round(s['strength'] * 1000))}\t{s['strand']}\n" for s in sites)
            for kind, count in zip(*np.unique(sites["kind"], return_counts=True)):
                kinds[str(kind)] = kinds.get(str(kind), 0) + int(count)
    for key, path in files.items():
        os.replace(f"{path}.tmp", path)
    info = {"settings": settings, "bp": sum(sizes.values()), "peaks": n_peaks, "sites": kinds,
            "seconds": time.perf_counter() - begin}
    info_path.write_text(json.dumps(info, indent=1))
    return {**info, "reused": False, **{f"{k}_path": str(v) for k, v in files.items()}}


# --- the run --------------------------------------------------------------------------------

def path_config(genome: dict, negative_fraction: float, epochs: int) -> str:
    """config/jund_hg19_genome.yaml's shape on the simulated genome, predicting every autosome."""
    chroms = ", ".join(genome["settings"]["sizes"])
    return (f"name: {NAME}\ngenome:\n  fasta: {genome['fasta_path']}\npeaks: {genome['peaks_path']}\n"
            f"chromosomes: [{chroms}]\n"
            "windows: {length: 101, stride: 101, flank: 0, max_n_fraction: 0.5}\n"
            f"split:\n  method: chromosome\n  valid: [{', '.join(VALID)}]\n  test: [{', '.join(TEST)}]\n"
            f"  seed: 0\n  negative_fraction: {negative_fraction}\n"
            "weights: balanced\nmodels: [improved]\n"
            f"motif: {REPO / 'resources' / 'motifs' / (JASPAR_ID + '.jaspar')}\n"
            f"training:\n  improved_epochs: {epochs}\n"
            f"predict:\n  chromosomes: [{chroms}]\n  stride: 50\n  model: improved\n  fdr: 0.1\n")


def _snakemake() -> str:
    found = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    return found


def rule_spans(log: str) -> dict[str, dict]:
    """Per rule, from Snakemake's log: the first job's start, the last job's end (datetimes)."""
    spans: dict[str, dict] = {}
    stamp, rule, jobs = None, None, {}
    for line in log.splitlines():
        match = re.match(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", line.strip())
        if match:
            stamp, rule = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y"), None
            continue
        match = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if match and stamp is not None:
            rule = match.group(1)
            continue
        match = re.match(r"^jobid: (\d+)", line.strip())
        if match and rule is not None:
            jobs[match.group(1)] = rule
            span = spans.setdefault(rule, {"start": stamp, "end": stamp})
            span["start"] = min(span["start"], stamp)
            rule = None
            continue
        match = re.match(r"^Finished job(?:id:)? (\d+)", line.strip())
        if match and match.group(1) in jobs and stamp is not None:
            span = spans[jobs[match.group(1)]]
            span["end"] = max(span["end"], stamp)
    return spans


def predict_jobs(results: Path) -> dict[str, float]:
    """Seconds of each chromosome's predict job (its benchmark TSV)."""
    out = {}
    for tsv in sorted((results / "benchmarks" / "predict").glob("*.tsv")):
        header, *rows = [line.split("\t") for line in tsv.read_text().splitlines()]
        out[tsv.stem] = float(dict(zip(header, rows[-1]))["s"])
    return out


def run_path(workdir: Path, genome: dict, negative_fraction: float, epochs: int) -> dict:
    """The whole path from a clean workdir (the simulated inputs kept) through Snakemake --cores 2."""
    for stale in ("results", "resources", "logs", ".snakemake"):
        shutil.rmtree(workdir / stale, ignore_errors=True)
    config = workdir / "config.yaml"
    config.write_text(path_config(genome, negative_fraction, epochs))
    results = workdir / "results" / NAME
    predictions = results / "predictions"
    chroms = list(genome["settings"]["sizes"])
    targets = [str(predictions / f"genome.{s}") for s in ("bw", "sites.narrowPeak")]
    targets += [str(predictions / f"{c}.metrics.json") for c in chroms]
    command = [_snakemake(), *[str(Path(t).relative_to(workdir)) for t in targets],
               "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", "--configfile", str(config)]
    os.sync()
    load_before = os.getloadavg()
    begin = time.perf_counter()
    with LoadWatch() as load:
        done, watch = run_watched(command)
    wall = time.perf_counter() - begin
    (workdir / "snakemake.log").write_text(done.stdout + done.stderr)
    if done.returncode:
        sys.stderr.write(done.stderr[-6000:])
        raise SystemExit(f"the run failed (exit {done.returncode}); log: {workdir / 'snakemake.log'}")
    return {"wall_seconds": wall, "command": command, "rules": read_benchmark_tsvs(results, workdir),
            "spans": {r: (s["end"] - s["start"]).total_seconds() for r, s in rule_spans(done.stderr).items()},
            "peak_rss_gb": watch.per_step(), "cpu_seconds": watch.cpu_per_step(),
            "predict_jobs": predict_jobs(results), "load_before": load_before, "load_after": os.getloadavg(),
            "load_during": load.samples}


class LoadWatch(PollingThread):
    """The 1-min load average every ``interval`` s while the run lasts (the path's jobs use
    at most 2 threads: a load well above 2 on 2 cores means other work on the machine)."""

    def __init__(self, interval: float = 15.0):
        self.samples = []
        super().__init__(interval)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.interval)


# --- figures from the run's outputs -------------------------------------------------------------

def training_figures(results: Path, rules: dict) -> dict:
    """Train windows, epochs run, per-epoch seconds (Keras' log) and samples/s."""
    manifest = json.loads((results / "dataset" / "manifest.json").read_text())
    summary = json.loads((results / "models" / "improved" / "training.json").read_text())
    log = (results / "logs" / "train" / "improved.log").read_text()
    epoch_seconds = [float(s) for s in re.findall(r"\d+/\d+ - (\d+(?:\.\d+)?)s - ", log)]
    splits = {s: manifest["splits"][s] for s in ("train", "valid", "test")}
    return {"manifest_splits": splits, "summary": summary, "epoch_seconds": epoch_seconds,
            "job_seconds": rules.get("train", {}).get("seconds", float("nan"))}


def _windows(split: dict) -> int:
    return int(split.get("windows", split.get("n", 0)))


def _positives(split: dict) -> int:
    value = split.get("positives", 0)
    return int(sum(value) if isinstance(value, list) else value)


def read_intervals(path: Path, columns: int = 3) -> dict[str, np.ndarray]:
    """chrom -> (n, 2) sorted starts and ends of a BED-like file."""
    by_chrom: dict[str, list] = {}
    with open(path) as handle:
        for line in handle:
            fields = line.split("\t", columns)
            by_chrom.setdefault(fields[0], []).append((int(fields[1]), int(fields[2])))
    return {c: np.array(sorted(v), np.int64).reshape(-1, 2) for c, v in by_chrom.items()}


def read_sites_of_kind(path: Path, kinds: tuple[str, ...]) -> dict[str, np.ndarray]:
    by_chrom: dict[str, list] = {}
    with open(path) as handle:
        for line in handle:
            chrom, start, end, kind, _ = line.split("\t", 4)
            if kind in kinds:
                by_chrom.setdefault(chrom, []).append((int(start), int(end)))
    return {c: np.array(sorted(v), np.int64).reshape(-1, 2) for c, v in by_chrom.items()}


def overlaps(query: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each (start, end) of ``query``: does it overlap any of ``targets`` (sorted, disjoint)?"""
    if not len(targets) or not len(query):
        return np.zeros(len(query), bool)
    index = np.searchsorted(targets[:, 1], query[:, 0], side="right")
    inside = index < len(targets)
    index = np.minimum(index, len(targets) - 1)
    return inside & (targets[index, 0] < query[:, 1])


def sanity_check(predictions: Path, genome: dict, seed: int = 0) -> dict:
    """Called sites against the planted truth, held-out and training chromosomes apart: the
    share of sites that overlap a planted peak, hold a planted bound site or a decoy, and the
    share of planted peaks touched; each also for the same sites moved to uniformly random
    places on their chromosome (chance)."""
    sites = read_intervals(predictions / "genome.sites.narrowPeak")
    peaks = read_intervals(Path(genome["peaks_path"]))
    bound = read_sites_of_kind(Path(genome["sites_path"]), ("bound",))
    decoys = read_sites_of_kind(Path(genome["sites_path"]), ("decoy",))
    sizes = genome["settings"]["sizes"]
    rng = np.random.default_rng(seed)
    out = {}
    none = np.zeros((0, 2), np.int64)
    others = [c for c in sizes if c not in TEST]
    for group, chroms in (("held-out (chr1, chr21)", TEST), ("other chromosomes", others)):
        tally = {k: 0 for k in ("sites", "on_peak", "on_peak_random", "bound", "bound_random", "decoy",
                                "decoy_random", "peaks", "peaks_hit", "peaks_hit_random", "site_bp")}
        for chrom in chroms:
            mine, chrom_peaks = sites.get(chrom, none), peaks.get(chrom, none)
            width = mine[:, 1] - mine[:, 0]
            moved = rng.integers(0, np.maximum(1, sizes[chrom] - width))
            moved = np.column_stack((moved, moved + width))
            tally["sites"] += len(mine)
            tally["site_bp"] += int(width.sum())
            tally["peaks"] += len(chrom_peaks)
            for key, targets in (("on_peak", chrom_peaks), ("bound", bound.get(chrom, none)),
                                 ("decoy", decoys.get(chrom, none))):
                tally[key] += int(overlaps(mine, targets).sum())
                tally[f"{key}_random"] += int(overlaps(moved, targets).sum())
            for key, placed in (("peaks_hit", mine), ("peaks_hit_random", moved)):
                placed = _merge(placed[np.argsort(placed[:, 0], kind="stable")])
                tally[key] += int(overlaps(chrom_peaks, placed).sum())
        out[group] = tally
    return out


def _merge(intervals: np.ndarray) -> np.ndarray:
    """Sorted intervals merged into disjoint ones (overlaps() needs disjoint targets)."""
    if not len(intervals):
        return intervals
    ends = np.maximum.accumulate(intervals[:, 1])
    new = np.concatenate(([True], intervals[1:, 0] > ends[:-1]))
    starts = intervals[new, 0]
    last = np.concatenate((np.flatnonzero(new)[1:] - 1, [len(intervals) - 1]))
    return np.column_stack((starts, ends[last]))


# --- the report -------------------------------------------------------------------------------

def _fmt_s(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "–"
    return f"{seconds:,.0f} s" if seconds >= 100 else f"{seconds:.1f} s"


def report(args: argparse.Namespace, genome: dict, run: dict, workdir: Path) -> dict:
    results = workdir / "results" / NAME
    predictions = results / "predictions"
    rules, spans, rss, cpu = run["rules"], run["spans"], run["peak_rss_gb"], run["cpu_seconds"]
    for stage in STAGES:  # calibrate has no benchmark TSV: its one job's span from the log
        if stage not in rules and stage in spans:
            rules[stage] = {"jobs": 1, "seconds": spans[stage], "max_job_seconds": spans[stage],
                            "from_log": True}
    chroms = list(genome["settings"]["sizes"])
    metrics = {c: json.loads((predictions / f"{c}.metrics.json").read_text()) for c in chroms}
    windows = sum(int(m["windows"]) for m in metrics.values())
    train = training_figures(results, rules)
    jobs = run["predict_jobs"]
    biggest = max(jobs, key=jobs.get)

    print(f"\nwhole path (snakemake --cores 2, start-up included): **{_fmt_s(run['wall_seconds'])}** "
          f"({run['wall_seconds'] / 60:.1f} min); 1-min load average before {run['load_before'][0]:.2f}, "
          f"after {run['load_after'][0]:.2f}" + (f", during: mean {np.mean(run['load_during']):.2f}, max "
                                                 f"{max(run['load_during']):.2f} (2 cores; the path's jobs use at most 2)"
                                                 if run.get("load_during") else ""))
    print("\n| stage | jobs | span (first start → last end) | job seconds, sum | largest job | CPU s | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for stage in STAGES:
        r = rules.get(stage, {})
        print(f"| {stage}{' *' if r.get('from_log') else ''} | {r.get('jobs', 0)} | {_fmt_s(spans.get(stage))} | "
              f"{_fmt_s(r.get('seconds'))} | "
              f"{_fmt_s(r.get('max_job_seconds'))} | {cpu.get(stage, 0):,.0f} | {rss.get(stage, 0):.2f} GB |")
    print("\n(* no benchmark TSV: the span in Snakemake's log instead, 1-s resolution; CPU s and peak RSS are "
          "polled every 50 ms from the stage's tfbinding processes)")
    print(f"largest peak RSS of any stage: {max(rss.values()):.2f} GB ({max(rss, key=rss.get)}); "
          f"target ≤ 3 GB: {'met' if max(rss.values()) <= 3 else 'NOT met'}")
    predict_s = sum(jobs.values())
    print(f"predict: {windows:,} windows at stride 50 over {len(jobs)} chromosomes in {_fmt_s(predict_s)} of jobs "
          f"(TensorFlow start-up and model loading included per job): {windows / predict_s:,.0f} windows/s; "
          f"largest job {biggest} {_fmt_s(jobs[biggest])} ({int(metrics[biggest]['windows']):,} windows, "
          f"{int(metrics[biggest]['windows']) / jobs[biggest]:,.0f} windows/s)")

    # training: measured, and the full config's
    splits = train["manifest_splits"]
    n_train, n_valid = _windows(splits["train"]), _windows(splits["valid"])
    pos_train, pos_valid = _positives(splits["train"]), _positives(splits["valid"])
    epochs_run = int(train["summary"].get("epochs_run", len(train["epoch_seconds"])))
    epoch_s = train["epoch_seconds"]
    per_epoch = float(np.median(epoch_s)) if epoch_s else train["job_seconds"] / max(1, epochs_run)
    rate = n_train / per_epoch
    overhead = train["job_seconds"] - sum(epoch_s)
    factor = FULL_NEGATIVE_FRACTION / args.negative_fraction
    full_train = pos_train + (n_train - pos_train) * factor
    full_valid = pos_valid + (n_valid - pos_valid) * factor
    # an epoch = a pass over train + the callbacks' passes over train and valid: scale with both
    full_epoch = per_epoch * (full_train + full_valid) / (n_train + n_valid)
    full_train_s = overhead + FULL_EPOCHS * full_epoch
    summary = train["summary"]
    print(f"\ntrain (improved, {epochs_run} epoch(s) of {args.epochs}, "
          f"negative_fraction {args.negative_fraction}): "
          f"{n_train:,} train windows ({pos_train:,} positive), {n_valid:,} valid; {per_epoch:.1f} s per epoch "
          f"(Keras' log, median; its passes over train and valid included) = {rate:,.0f} train windows/s; "
          f"job {_fmt_s(train['job_seconds'])} (start-up, motif start and plots {overhead:.0f} s); "
          f"best epoch {summary.get('best_epoch')}, validation PR AUC {_num(summary.get('val_pr_auc'))}, "
          f"ROC AUC {_num(summary.get('val_roc_auc'))}, status {summary.get('status')}")
    extrapolated_wall = run["wall_seconds"] - train["job_seconds"] + full_train_s
    print(f"EXTRAPOLATION, full config's training (negative_fraction {FULL_NEGATIVE_FRACTION}, improved_epochs "
          f"{FULL_EPOCHS}, no early stop): ≈ {full_train:,.0f} train + {full_valid:,.0f} valid windows, "
          f"≈ {full_epoch:,.0f} s per epoch × {FULL_EPOCHS} + {overhead:.0f} s ≈ {full_train_s / 60:.0f} min "
          f"(early stopping, patience 6, can end it sooner); whole path then ≈ {extrapolated_wall / 60:.0f} min "
          "on 2 cores" + (f" (the dataset build at fraction {FULL_NEGATIVE_FRACTION} instead of "
                          f"{args.negative_fraction} writes more rows: not included)"
                          if args.negative_fraction != FULL_NEGATIVE_FRACTION else ""))

    # scaling: from the measured per-job seconds
    def stage_16(stage: str, cores: int = 16) -> float:
        r = rules.get(stage, {})
        if not r:
            return 0.0
        slots = max(1, cores // THREADS.get(stage, 1))
        return max(r["seconds"] / slots, r["max_job_seconds"])

    def stage_cluster(stage: str) -> float:
        return rules.get(stage, {}).get("max_job_seconds", 0.0)

    measured_train = rules.get("train", {}).get("seconds", 0.0)
    on_16 = sum(stage_16(s) for s in STAGES)
    on_cluster = sum(stage_cluster(s) for s in STAGES)
    print("\nEXTRAPOLATION from the measured per-job seconds (not measured on 16 cores or a cluster; "
          "assumes each job keeps its 2-core speed, no queueing, I/O or memory-bandwidth limit; "
          "Snakemake's start-up and scheduling not included):")
    print(f"  16 cores (--cores 16; 2-thread jobs 8 at a time, 1-thread jobs 16; train, calibrate, merge "
          f"and prepare_genome unchanged): predict {_fmt_s(stage_16('predict'))} (max of sum/8 and the largest "
          f"job), path ≈ {on_16 / 60:.0f} min with this training, "
          f"≈ {(on_16 - measured_train + full_train_s) / 60:.0f} min with the full config's; 8 predict jobs at "
          f"once need 8 × {rss.get('predict', 0):.1f} GB")
    print(f"  cluster (every per-chromosome job its own node): critical path = the largest job of each stage = "
          f"… + train + calibrate + predict {biggest} {_fmt_s(stage_cluster('predict'))} + merge "
          f"{_fmt_s(stage_cluster('merge_predictions'))} ≈ {on_cluster / 60:.0f} min with this training, "
          f"≈ {(on_cluster - measured_train + full_train_s) / 60:.0f} min with the full config's "
          "(plus scheduler latency)")

    # held-out metrics (predict's, on the test chromosomes)
    print("\nheld-out chromosomes (predict's metrics, every window at stride 50, threshold at 10% FDR on chr8):")
    print("| chromosome | windows | positive windows | peaks | ROC AUC | PR AUC | threshold | sites | site precision "
          "| site recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for chrom in TEST:
        m = metrics[chrom]
        print(f"| {chrom} | {int(m['windows']):,} | {_int(m.get('positive_windows'))} | {_int(m.get('peaks'))} | "
              f"{_num(m.get('roc_auc'))} | {_num(m.get('pr_auc'))} | {_num(m.get('threshold'))} | "
              f"{_int(m.get('sites'))} | {_num(m.get('site_precision'))} | "
              f"{_num(m.get('site_recall'))} |")
    if args.negative_fraction < 1:
        print(f"(the threshold is calibrated on chr8's validation windows, whose negatives are downsampled to "
              f"{args.negative_fraction}: genome-wide, with every negative, the sites' FDR is higher than 10%)")
    check = sanity_check(predictions, genome)
    print("\nsanity check, genome.sites.narrowPeak against the planted truth (chance: the same sites at "
          "uniformly random places on their chromosome, seed 0):")
    print("| chromosomes | sites | on a planted peak (chance) | hold a planted bound site (chance) "
          "| hold a decoy site (chance) | planted peaks touched (chance) |")
    print("|---|---:|---:|---:|---:|---:|")
    for group, t in check.items():
        def share(key: str, t: dict = t) -> str:
            return f"{t[key] / t['sites']:.1%} ({t[key + '_random'] / t['sites']:.1%})" if t["sites"] else "–"

        print(f"| {group} | {t['sites']:,} | {share('on_peak')} | {share('bound')} | {share('decoy')} | "
              f"{t['peaks_hit'] / max(1, t['peaks']):.1%} ({t['peaks_hit_random'] / max(1, t['peaks']):.1%}) |")
    return {"windows": windows, "predict_windows_per_s": windows / predict_s, "training": {
        "epochs_run": epochs_run, "per_epoch_seconds": per_epoch, "train_windows": n_train,
        "valid_windows": n_valid, "train_windows_per_s": rate, "full_config_train_seconds": full_train_s,
        "summary": train["summary"]}, "extrapolated_wall_seconds_full_training": extrapolated_wall,
        "sixteen_cores_seconds": on_16, "cluster_seconds": on_cluster,
        "held_out": {c: metrics[c] for c in TEST},
        "sanity": check}


def _num(value) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _int(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="scratch folder; the simulated genome is kept there "
                                          "(default: a new temporary folder)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="chromosome lengths times this (a quick try: 0.02)")
    parser.add_argument("--peaks-per-mbp", type=float, default=10.0)
    parser.add_argument("--negative-fraction", type=float, default=FULL_NEGATIVE_FRACTION,
                        help="split.negative_fraction (config/jund_hg19_genome.yaml: 0.05)")
    parser.add_argument("--epochs", type=int, default=2, help=f"training.improved_epochs (the full config: "
                                                              f"{FULL_EPOCHS}; extrapolated)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="genome_path_")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# genome_path benchmark, {date.today().isoformat()}")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    begin = time.perf_counter()
    genome = write_planted_genome(workdir / "inputs", args.scale, args.peaks_per_mbp)
    print(f"genome: {len(genome['settings']['sizes'])} autosomes, {genome['bp'] / 1e9:.3f} Gbp "
          f"(hg19 × {args.scale}), "
          f"{genome['peaks']:,} peaks, planted sites {genome['sites']} (JUND {JASPAR_RELEASE} {JASPAR_ID}); "
          + (f"found in the workdir ({time.perf_counter() - begin:.1f} s; simulated in {genome['seconds']:.0f} s "
             "when first made)" if genome["reused"] else f"simulated in {genome['seconds']:.0f} s"))
    print(f"workflow: negative_fraction {args.negative_fraction}, improved_epochs {args.epochs}, predict stride 50 "
          f"on every autosome; workdir {workdir}")
    run = run_path(workdir, genome, args.negative_fraction, args.epochs)
    print("command: " + " ".join(run["command"]))
    figures = report(args, genome, run, workdir)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "genome": genome, "run": run, **figures},
                                              indent=1, default=str))


if __name__ == "__main__":
    main()
