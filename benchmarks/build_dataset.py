#!/usr/bin/env python
"""Benchmark the dataset build on synthetic chromosomes the size of hg19 chr22 and chr1.

For each size it prints, on this machine:
  * the wall time of each build step (windows, labels, split, onehot, dataset), run in-process
    as the CLI runs them but without Snakemake's or Python's start-up, and their Mbp/s;
  * the peak RSS (VmHWM) of the child process that ran them;
  * each build is repeated (--repeats, default 3) and the medians are shown;
  * a naive per-window path (a pyfaidx fetch and a Python one-hot per window, as the
    study's notebooks do), timed on a sample and extrapolated to every window;
  * the I/O limit: reading the FASTA plus writing arrays of the output's size, both until
    the writes sit in the page cache and until they are on disk (sync); the build is
    reported both ways too (its steps, and its steps plus a final sync).

With --multitask (or --only-multitask), each size is also built single-task and with
--tasks tasks (default 3; peaks of other seeds) and --signals bigWig channels (default 1;
a synthetic 50-bp-bin coverage track, log1p), in the same session: each step, the total,
the ratio to the single-task build and the peak RSS.

With --genome it instead times the whole dataset build through Snakemake (--cores 2,
start-up included) on an hg19-size synthetic genome: the 22 autosomes at their real
lengths, --peaks-per-mbp peaks (10), config/jund_hg19_genome.yaml's shape (chromosome
split, chr8 valid, chr1 + chr21 test, 5% of train/valid negatives kept, no blacklist). It
prints each rule's summed job seconds (Snakemake's benchmark TSVs) and CPU seconds, each
step's peak RSS, and the load average; with --old-tree (e.g. `git worktree add /tmp/old
<commit>`) the two code versions run alternately, --repeats times each, and the sha256 of
every array and manifest of every run must agree. The genome (2.9 GB) is kept in --workdir.

Usage: python benchmarks/build_dataset.py [--sizes chr22 chr1] [--workdir DIR] [--multitask]
       python benchmarks/build_dataset.py --genome --workdir DIR [--old-tree DIR] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

SIZES = {"chr22": (51_304_566, 2_000), "chr1": (249_250_621, 10_000)}
LENGTH = 101
NAIVE_SAMPLE = 20_000
PREPARE = "prepare (one-time index)"


def write_synthetic(folder: Path, name: str, size: int, n_peaks: int) -> tuple[Path, Path]:
    """A chromosome of random bases with N gaps (as at real centromeres) and random peaks."""
    rng = np.random.default_rng(7)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)]
    seq[: size // 50] = ord("N")
    seq[size // 2: size // 2 + size // 40] = ord("N")
    fasta = folder / f"{name}.fa"
    width = 60
    full = size // width
    lines = np.full((full, width + 1), ord("\n"), np.uint8)
    lines[:, :width] = seq[: full * width].reshape(full, width)
    with open(fasta, "wb") as handle:
        handle.write(f">{name}\n".encode())
        handle.write(lines.tobytes())
        if size % width:
            handle.write(seq[full * width:].tobytes() + b"\n")
    return fasta, write_random_peaks(folder / f"{name}.narrowPeak", rng, name, size, n_peaks)


def write_random_peaks(path: Path, rng: np.random.Generator, name: str, size: int, n_peaks: int) -> Path:
    """``n_peaks`` narrowPeak lines of 150-600 bp at random places on ``name``."""
    starts = np.sort(rng.integers(size // 50 + 1000, size - 1000, n_peaks))
    widths = rng.integers(150, 600, n_peaks)
    with open(path, "w") as handle:
        for start, width in zip(starts.tolist(), widths.tolist()):
            handle.write(f"{name}\t{start}\t{start + width}\tp\t0\t.\t1\t1\t1\t{width // 2}\n")
    return path


def write_extra_tasks(folder: Path, name: str, size: int, n_peaks: int, tasks: int) -> list[Path]:
    """Peaks of ``tasks - 1`` more synthetic factors (other seeds, same count)."""
    return [write_random_peaks(folder / f"{name}.task{task + 1}.narrowPeak", np.random.default_rng(100 + task),
                               name, size, n_peaks) for task in range(1, tasks)]


def write_bigwig(folder: Path, name: str, size: int, bin_bp: int = 50) -> Path:
    """A synthetic coverage track: gamma-distributed values in ``bin_bp`` bins, whole chromosome."""
    import pyBigWig

    rng = np.random.default_rng(11)
    path = folder / f"{name}.signal.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(name, size)])
    full = size // bin_bp
    values = rng.gamma(1.0, 2.0, full + 1)
    step = 1_000_000
    for first in range(0, full, step):
        count = min(step, full - first)
        bw.addEntries(name, first * bin_bp, values=values[first:first + count].tolist(), span=bin_bp,
                      step=bin_bp)
    if full * bin_bp < size:   # the partial last bin
        bw.addEntries([name], [full * bin_bp], ends=[size], values=[float(values[-1])])
    bw.close()
    return path


def timed_build(folder: Path, name: str, fasta: Path, peaks: Path | list[Path],
                bigwigs: list[Path] | None = None) -> dict:
    """Run the build steps in this process; return each step's seconds. Several peaks files
    make a multi-task build; ``bigwigs`` add the signals step (log1p channels)."""
    from tfbinding.data.dataset import assemble_dataset
    from tfbinding.data.labels import build_labels
    from tfbinding.data.onehot import build_onehot
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.signals import build_signals
    from tfbinding.data.split import split_windows
    from tfbinding.data.windows import build_windows

    prepared = folder / "prepared" / f"{name}.fa"
    seconds = {}
    start = time.perf_counter()
    prepare_fasta(fasta, prepared)
    seconds[PREPARE] = time.perf_counter() - start
    work = folder / "work"
    steps = [
        ("windows", lambda: build_windows(prepared, name, work / "windows.npz", length=LENGTH,
                                          stride=LENGTH, max_n_fraction=0.5)),
        ("labels", lambda: build_labels(work / "windows.npz", peaks, prepared, name,
                                        work / "labels.npz", length=LENGTH,
                                        task_names=None if isinstance(peaks, Path) else
                                        [f"task{i + 1}" for i in range(len(peaks))])),
        ("split", lambda: split_windows([name], [work / "labels.npz"], work / "split.npz",
                                        length=LENGTH)),
        ("onehot", lambda: build_onehot(work / "split.npz", prepared, name, work / "X")),
    ]
    if bigwigs:
        steps.append(("signals", lambda: build_signals(work / "split.npz", bigwigs,
                                                       ["log1p"] * len(bigwigs), prepared, name,
                                                       work / "signals")))
    steps.append(("dataset", lambda: assemble_dataset(
        work / "split.npz", [work / "X"], folder / "dataset",
        signal_prefixes=[work / "signals"] if bigwigs else None,
        signals=[{"name": f"s{i}", "transform": "log1p"} for i in range(len(bigwigs or []))])))
    for step, run in steps:
        start = time.perf_counter()
        run()
        seconds[step] = time.perf_counter() - start
    start = time.perf_counter()
    os.sync()
    seconds["sync"] = time.perf_counter() - start
    return seconds


def naive_seconds_per_window(fasta: Path, name: str, size: int) -> float:
    """pyfaidx fetch + Python one-hot, per window, on a sample of windows."""
    from pyfaidx import Fasta

    genome = Fasta(str(fasta))
    index = {"A": 0, "C": 1, "G": 2, "T": 3}
    starts = np.random.default_rng(0).integers(0, size - LENGTH, NAIVE_SAMPLE)
    begin = time.perf_counter()
    for start in starts.tolist():
        sequence = str(genome[name][start:start + LENGTH]).upper()
        onehot = np.zeros((LENGTH, 4), dtype=np.uint8)
        for position, base in enumerate(sequence):
            channel = index.get(base)
            if channel is not None:
                onehot[position, channel] = 1
    return (time.perf_counter() - begin) / NAIVE_SAMPLE


def io_limit_seconds(fasta: Path, folder: Path, output_bytes: int) -> tuple[float, float]:
    """Read the FASTA, then write ``output_bytes`` in 64-MiB blocks; return the seconds
    until the writes are in the page cache, and until they are on disk (after sync)."""
    begin = time.perf_counter()
    with open(fasta, "rb") as handle:
        while handle.read(64 << 20):
            pass
    block = np.zeros(64 << 20, np.uint8).tobytes()
    with open(folder / "io_probe.bin", "wb") as handle:
        remaining = output_bytes
        while remaining > 0:
            handle.write(block[: min(remaining, len(block))])
            remaining -= len(block)
    cached = time.perf_counter() - begin
    os.sync()
    on_disk = time.perf_counter() - begin
    (folder / "io_probe.bin").unlink()
    return cached, on_disk


def child(args: argparse.Namespace) -> None:
    """Build in this (child) process and print the step times as JSON."""
    folder = Path(args.folder)
    peaks = [Path(p) for p in args.peaks]
    seconds = timed_build(folder, args.name, Path(args.fasta), peaks[0] if len(peaks) == 1 else peaks,
                          [Path(p) for p in args.bigwigs or []])
    print(json.dumps({"seconds": seconds, "peak_rss_bytes": _peak_rss_bytes()}))


def _peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM). Unlike getrusage's ru_maxrss, it does
    not inherit the peak of the parent that forked it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _build_in_child(name: str, folder: Path, fasta: Path, peaks: Path | list[Path],
                    bigwigs: list[Path] | None = None) -> tuple[dict, float]:
    """Build in a fresh child process; return its step times and its peak RSS in GB."""
    for stale in ("prepared", "work", "dataset"):
        shutil.rmtree(folder / stale, ignore_errors=True)
    os.sync()  # start each run with no dirty pages of the last one still being written
    peaks = [peaks] if isinstance(peaks, Path) else peaks
    process = subprocess.Popen([sys.executable, __file__, "--child", "--name", name, "--folder",
                                str(folder), "--fasta", str(fasta), "--peaks", *map(str, peaks),
                                "--bigwigs", *map(str, bigwigs or [])],
                               stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    if process.wait() != 0:
        raise SystemExit(f"the build of {name} failed")
    report = json.loads(output)
    return report["seconds"], report["peak_rss_bytes"] / 1e9


def measure(name: str, root: Path, repeats: int) -> dict:
    size, n_peaks = SIZES[name]
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    fasta, peaks = write_synthetic(folder, name, size, n_peaks)
    runs = [_build_in_child(name, folder, fasta, peaks) for _ in range(repeats)]
    seconds = {step: statistics.median(run[0][step] for run in runs) for step in runs[0][0]}
    rss = max(run[1] for run in runs)
    manifest = json.loads((folder / "dataset" / "manifest.json").read_text())
    windows = manifest["totals"]["windows"]
    output_bytes = sum((folder / "dataset" / s / f"{a}.npy").stat().st_size
                       for s in ("train", "valid", "test") for a in ("X", "y", "w", "ids"))
    naive = naive_seconds_per_window(folder / "prepared" / f"{name}.fa", name, size)
    io_limit = []
    for _ in range(repeats):
        os.sync()
        io_limit.append(io_limit_seconds(fasta, folder, output_bytes))
    build = statistics.median(sum(t for step, t in run[0].items() if step not in ("sync", PREPARE))
                              for run in runs)
    build_on_disk = statistics.median(sum(t for step, t in run[0].items() if step != PREPARE)
                                      for run in runs)
    return {"name": name, "bp": size, "peaks": n_peaks, "windows": windows,
            "positives": manifest["totals"]["positives"], "output_bytes": output_bytes,
            "seconds": seconds, "build_seconds": build, "mbp_per_s": size / 1e6 / build,
            "peak_rss_gb": rss, "naive_us_per_window": naive * 1e6,
            "naive_seconds": naive * windows, "build_on_disk_seconds": build_on_disk,
            "io_limit_seconds": statistics.median(cached for cached, _ in io_limit),
            "io_limit_on_disk_seconds": statistics.median(on_disk for _, on_disk in io_limit)}


def measure_multitask(name: str, root: Path, repeats: int, tasks: int, signals: int) -> dict:
    """The same chromosome built single-task, then with ``tasks`` tasks and ``signals``
    bigWig channels; step times (medians) and peak RSS of each."""
    size, n_peaks = SIZES[name]
    folder = root / f"{name}_multitask"
    folder.mkdir(parents=True, exist_ok=True)
    fasta, peaks = write_synthetic(folder, name, size, n_peaks)
    extra = write_extra_tasks(folder, name, size, n_peaks, tasks)
    bigwigs = [write_bigwig(folder, name, size)] * signals
    figures = {}
    for label, run_peaks, run_bigwigs in (("single", peaks, None),
                                          ("multi", [peaks, *extra], bigwigs)):
        runs = [_build_in_child(name, folder, fasta, run_peaks, run_bigwigs) for _ in range(repeats)]
        seconds = {step: statistics.median(run[0][step] for run in runs) for step in runs[0][0]}
        total = statistics.median(sum(t for step, t in run[0].items() if step not in ("sync", PREPARE))
                                  for run in runs)
        figures[label] = {"seconds": seconds, "build_seconds": total,
                          "peak_rss_gb": max(run[1] for run in runs)}
    manifest = json.loads((folder / "dataset" / "manifest.json").read_text())
    figures.update(name=name, bp=size, tasks=tasks, signals=signals,
                   windows=manifest["totals"]["windows"],
                   ratio=figures["multi"]["build_seconds"] / figures["single"]["build_seconds"])
    return figures


# --- the whole build through Snakemake on an hg19-size synthetic genome ---------------------

#: hg19's autosomes and their lengths (UCSC chromInfo)
HG19_AUTOSOMES = {
    "chr1": 249_250_621, "chr2": 243_199_373, "chr3": 198_022_430, "chr4": 191_154_276,
    "chr5": 180_915_260, "chr6": 171_115_067, "chr7": 159_138_663, "chr8": 146_364_022,
    "chr9": 141_213_431, "chr10": 135_534_747, "chr11": 135_006_516, "chr12": 133_851_895,
    "chr13": 115_169_878, "chr14": 107_349_540, "chr15": 102_531_392, "chr16": 90_354_753,
    "chr17": 81_195_210, "chr18": 78_077_248, "chr19": 59_128_983, "chr20": 63_025_520,
    "chr21": 48_129_895, "chr22": 51_304_566,
}
DATASET_RULES = ("prepare_genome", "windows", "labels", "split", "onehot", "dataset")


def write_genome(folder: Path, peaks_per_mbp: float = 10.0, scale: float = 1.0) -> tuple[Path, Path]:
    """An hg19-size genome (the 22 autosomes at their lengths, times ``scale``) of random
    bases with N gaps, and ``peaks_per_mbp`` random 150-600-bp peaks per Mbp. Reused when
    the files exist."""
    folder.mkdir(parents=True, exist_ok=True)
    fasta, peaks = folder / "genome.fa", folder / "peaks.narrowPeak"
    if fasta.exists() and peaks.exists():
        return fasta, peaks
    rng = np.random.default_rng(7)
    lines_out = []
    with open(f"{fasta}.tmp", "wb") as handle:
        for name, size in HG19_AUTOSOMES.items():
            size = int(size * scale)
            seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size, dtype=np.uint8)]
            seq[: size // 50] = ord("N")
            seq[size // 2: size // 2 + size // 40] = ord("N")
            width, full = 60, size // 60
            lines = np.full((full, width + 1), ord("\n"), np.uint8)
            lines[:, :width] = seq[: full * width].reshape(full, width)
            handle.write(f">{name}\n".encode())
            handle.write(lines.tobytes())
            if size % width:
                handle.write(seq[full * width:].tobytes() + b"\n")
            n_peaks = int(round(size / 1e6 * peaks_per_mbp))
            starts = np.sort(rng.integers(size // 50 + 1000, size - 1000, n_peaks))
            widths = rng.integers(150, 600, n_peaks)
            lines_out += [f"{name}\t{s}\t{s + w}\tp\t0\t.\t1\t1\t1\t{w // 2}\n"
                          for s, w in zip(starts.tolist(), widths.tolist())]
    peaks.write_text("".join(lines_out))
    os.replace(f"{fasta}.tmp", fasta)
    return fasta, peaks


def genome_config(fasta: Path, peaks: Path) -> str:
    """config/jund_hg19_genome.yaml's shape on the synthetic genome (no blacklist)."""
    chroms = ", ".join(HG19_AUTOSOMES)
    return (f"name: hg19_synthetic\ngenome:\n  fasta: {fasta}\npeaks: {peaks}\n"
            f"chromosomes: [{chroms}]\n"
            "windows: {length: 101, stride: 101, flank: 0, max_n_fraction: 0.5}\n"
            "split:\n  method: chromosome\n  valid: [chr8]\n  test: [chr1, chr21]\n  seed: 0\n"
            "  negative_fraction: 0.05\nweights: balanced\n"
            "models: [no_dropout, no_weights, full, improved, motif_baseline]\n")


class PollingThread:
    """A context manager that runs ``self._run`` in a daemon thread while the block lasts
    (``self._stop`` is set at its end); subclasses poll every ``interval`` s."""

    def __init__(self, interval: float):
        import threading

        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        raise NotImplementedError


class RssWatch(PollingThread):
    """Poll the process tree under ``root`` every ``interval`` s; keep each
    ``tfbinding <step>`` process's peak RSS (VmHWM, the kernel's own high-water mark, so a
    short peak between polls still counts). Other users' processes are not looked at."""

    def __init__(self, root: int, interval: float = 0.05):
        self.root, self.peaks, self.cpu = root, {}, {}
        super().__init__(interval)

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.root)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                children = root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    step = _tfbinding_step(child.cmdline())
                    if step is None:
                        continue
                    status = Path(f"/proc/{child.pid}/status").read_text()
                    times = child.cpu_times()
                except (psutil.Error, OSError):
                    continue
                self.cpu[(step, child.pid)] = times.user + times.system
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        key = (step, child.pid)
                        self.peaks[key] = max(self.peaks.get(key, 0), int(line.split()[1]) * 1024)
            self._stop.wait(self.interval)

    def per_step(self) -> dict[str, float]:
        """The largest peak RSS (GB) of any process of each step."""
        out: dict[str, float] = {}
        for (step, _), rss in self.peaks.items():
            out[step] = max(out.get(step, 0.0), rss / 1e9)
        return out

    def cpu_per_step(self) -> dict[str, float]:
        """CPU seconds (user + system) of each step's processes, summed, as last polled
        (up to one interval short per process). Less sensitive than wall time to other
        load on the machine."""
        out: dict[str, float] = {}
        for (step, _), seconds in self.cpu.items():
            out[step] = out.get(step, 0.0) + seconds
        return out


def _tfbinding_step(argv: list[str]) -> str | None:
    """``windows`` for ``... tfbinding windows ...`` (not the shell wrapping it)."""
    words = [a for a in argv if a]
    if not words or Path(words[0]).name in ("sh", "bash", "dash"):
        return None
    for i, word in enumerate(words[:-1]):
        if Path(word).name == "tfbinding":
            return words[i + 1].replace("-", "_")
    return None


def run_watched(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, RssWatch]:
    """Run ``command``; return its result and the watch of the tfbinding steps under it."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    with RssWatch(process.pid) as watch:
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), watch


def read_benchmark_tsvs(results: Path, workdir: Path) -> dict[str, dict]:
    """Snakemake's benchmark TSVs: per rule, the jobs, summed and largest seconds, and the
    largest max_rss (MB; NA for jobs shorter than Snakemake's sampling interval, 30 s: its
    cpu_time and max_rss come from samples, so the RSS and CPU figures are polled here)."""
    out: dict[str, dict] = {}
    tsvs = list((results / "benchmarks").rglob("*.tsv")) + list((workdir / "logs" / "prepare_genome").rglob("*.tsv"))
    for tsv in tsvs:
        rel = tsv.relative_to(results / "benchmarks") if results in tsv.parents else Path("prepare_genome")
        rule = rel.parts[0].removesuffix(".tsv")
        header, *rows = [line.split("\t") for line in tsv.read_text().splitlines()]
        row = dict(zip(header, rows[-1]))
        entry = out.setdefault(rule, {"jobs": 0, "seconds": 0.0, "max_job_seconds": 0.0, "max_rss_mb": None})
        entry["jobs"] += 1
        entry["seconds"] += float(row["s"])
        entry["max_job_seconds"] = max(entry["max_job_seconds"], float(row["s"]))
        if row.get("max_rss", "NA") not in ("NA", "-", ""):
            entry["max_rss_mb"] = max(entry["max_rss_mb"] or 0.0, float(row["max_rss"]))
    return out


def dataset_hashes(dataset: Path) -> dict[str, str]:
    """sha256 of every .npy in the dataset folder and of its manifest without the fields
    that name the run (none are expected to differ between code versions)."""
    import hashlib

    hashes = {}
    for path in sorted(dataset.rglob("*.npy")):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(16 << 20):
                digest.update(block)
        hashes[str(path.relative_to(dataset))] = digest.hexdigest()
    manifest = dataset / "manifest.json"
    hashes["manifest.json"] = hashlib.sha256(manifest.read_bytes()).hexdigest()
    return hashes


def snakemake_build(tree: Path, workdir: Path, label: str) -> dict:
    """One dataset build of the workdir's config by the code in ``tree`` (its Snakefile and
    its src/ first on PYTHONPATH), through Snakemake with --cores 2, from a prepared genome;
    wall time (Snakemake's start-up included), per-rule job times and peak RSS."""
    results = workdir / "results" / "hg19_synthetic"
    shutil.rmtree(results, ignore_errors=True)
    os.sync()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tree / "src"),
                                                                   os.environ.get("PYTHONPATH")])))
    command = ["snakemake", "dataset", "-s", str(tree / "Snakefile"), "-d", str(workdir), "--cores", "2",
               "--configfile", str(workdir / "config.yaml"), "--rerun-triggers", "mtime",
               "--quiet", "all"]
    begin = time.perf_counter()
    done, watch = run_watched(command, env=env)
    wall = time.perf_counter() - begin
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the {label} build failed")
    return {"label": label, "wall_seconds": wall, "rules": read_benchmark_tsvs(results, workdir),
            "peak_rss_gb": watch.per_step(), "cpu_seconds": watch.cpu_per_step(), "hashes": dataset_hashes(results / "dataset"),
            "loadavg": os.getloadavg()}


def measure_genome(args: argparse.Namespace) -> None:
    """Time the hg19-size build through Snakemake: ``--old-tree`` (another checkout) and this
    one, alternately, ``--repeats`` times each; check that their datasets are byte-identical."""
    root = Path(args.workdir or tempfile.mkdtemp(prefix="hg19_build_"))
    root.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    fasta, peaks = write_genome(root / "inputs", args.peaks_per_mbp, args.scale)
    print(f"genome: {sum(HG19_AUTOSOMES.values()) * args.scale / 1e9:.2f} Gbp, "
          f"{sum(1 for _ in open(peaks))} peaks ({time.perf_counter() - begin:.1f} s to write or find)")
    (root / "config.yaml").write_text(genome_config(fasta.resolve(), peaks.resolve()))
    here = Path(__file__).resolve().parent.parent
    trees = [("new", here)] + ([("old", Path(args.old_tree).resolve())] if args.old_tree else [])
    # the one-time genome preparation (index), by this tree's code
    begin = time.perf_counter()
    done, watch = run_watched(["snakemake", "dataset", "-s", str(here / "Snakefile"), "-d", str(root),
                             "--cores", "2", "--configfile", str(root / "config.yaml"), "--quiet", "all",
                             "--until", "prepare_genome"])
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("prepare_genome failed")
    print(f"prepare_genome (one-time, or found): {time.perf_counter() - begin:.1f} s, "
          f"peak RSS {watch.per_step().get('prepare_genome', 0):.2f} GB")
    runs = []
    for repeat in range(args.repeats):
        for label, tree in (trees if repeat % 2 == 0 else trees[::-1]):
            run = snakemake_build(tree, root, label)
            runs.append(run)
            cpu = sum(run["cpu_seconds"].values())
            print(f"  {label} run {repeat + 1}: {run['wall_seconds']:.1f} s wall, {cpu:.1f} CPU s in jobs, load average "
                  f"{' '.join(f'{x:.2f}' for x in run['loadavg'])}", flush=True)
    print(f"\n# dataset build through Snakemake --cores 2 on the synthetic hg19-size genome "
          f"({date.today().isoformat()}); median of {args.repeats} runs each, alternating\n")
    steps = DATASET_RULES[1:]
    print("| code | wall (start-up included) | " + " | ".join(f"{s} (sum of jobs, CPU)" for s in steps)
          + " | largest peak RSS |")
    print("|---|---:|" + "---:|" * len(steps) + "---:|")
    summary = {}
    for label, _ in trees:
        mine = [r for r in runs if r["label"] == label]
        wall = statistics.median(r["wall_seconds"] for r in mine)
        sums = {s: statistics.median(r["rules"].get(s, {}).get("seconds", 0.0) for r in mine) for s in steps}
        rss = {s: max(r["peak_rss_gb"].get(s, 0.0) for r in mine) for s in steps}
        cpu = {s: statistics.median(r["cpu_seconds"].get(s, 0.0) for r in mine) for s in steps}
        summary[label] = {"wall_seconds": wall, "job_seconds": sums, "cpu_seconds": cpu, "peak_rss_gb": rss,
                          "walls": [r["wall_seconds"] for r in mine]}
        print(f"| {label} | **{wall:.1f} s** | " + " | ".join(f"{sums[s]:.1f} s ({cpu[s]:.1f})" for s in steps)
              + f" | {max(rss.values()):.2f} GB |")
    print("\n(in brackets: the jobs' summed CPU seconds, user + system, polled every 50 ms)")
    print("\npeak RSS per step (GB, largest process of the step): " + "; ".join(
        f"{label}: " + ", ".join(f"{s} {v:.2f}" for s, v in summary[label]["peak_rss_gb"].items())
        for label, _ in trees))
    reference = runs[0]["hashes"]
    same = all(r["hashes"] == reference for r in runs)
    print(f"datasets byte-identical across all runs and code versions: {same} "
          f"({len(reference)} files: every .npy and manifest.json)")
    if not same:
        for r in runs:
            diff = sorted(k for k in reference if r["hashes"].get(k) != reference[k])
            if diff:
                print(f"  {r['label']} differs in {diff}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{memory:.0f} GiB RAM, Python {platform.python_version()}, numpy {np.__version__}, "
            f"{platform.platform()}")


def print_multitask(results: list[dict], repeats: int) -> None:
    """The multi-task + signals table: each step, single-task vs multi, and the ratio."""
    print(f"multi-task + signals: the same synthetic chromosome, single-task vs T tasks (peaks of "
          f"other seeds) and S log1p bigWig channels (50-bp bins); median of {repeats} runs\n")
    print("| chromosome | build | windows | labels | split | onehot | signals | dataset | **total** "
          "| × single | peak RSS |")
    print("|---|---|" + "---:|" * 9)
    for r in results:
        for label in ("single", "multi"):
            f, s = r[label], r[label]["seconds"]
            what = "1 task" if label == "single" else f"{r['tasks']} tasks + {r['signals']} signal"
            print(f"| {r['name']} size ({r['windows']:,} windows) | {what} | {s['windows']:.2f} s | "
                  f"{s['labels']:.2f} s | {s['split']:.2f} s | {s['onehot']:.2f} s | "
                  f"{s.get('signals', 0):.2f} s | {s['dataset']:.2f} s | **{f['build_seconds']:.2f} s** | "
                  f"{f['build_seconds'] / r['single']['build_seconds']:.2f}× | {f['peak_rss_gb']:.2f} GB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--workdir", help="scratch folder (default: a temporary one)")
    parser.add_argument("--repeats", type=int, default=3, help="builds per size; medians are shown")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--fasta", help=argparse.SUPPRESS)
    parser.add_argument("--peaks", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--bigwigs", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--multitask", action="store_true",
                        help="also time each size with --tasks tasks and --signals bigWig channels "
                             "against its single-task build")
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--signals", type=int, default=1)
    parser.add_argument("--only-multitask", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--genome", action="store_true",
                        help="time the whole build through Snakemake (--cores 2) on an hg19-size "
                             "synthetic genome instead (22 autosomes, chromosome split, 5%% of "
                             "negatives kept); --workdir keeps the genome between calls")
    parser.add_argument("--old-tree", help="with --genome: another checkout (e.g. a git worktree "
                                           "of an older commit) timed side by side")
    parser.add_argument("--peaks-per-mbp", type=float, default=10.0)
    parser.add_argument("--scale", type=float, default=1.0, help="with --genome: chromosome "
                                                                 "lengths times this (for a quick try)")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.genome:
        print(f"# build_dataset benchmark (--genome), {date.today().isoformat()}")
        print(f"machine: {machine()}")
        measure_genome(args)
        return
    print(f"# build_dataset benchmark, {date.today().isoformat()}")
    print(f"machine: {machine()}")
    if args.only_multitask:
        args.multitask = True
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        results = [] if args.only_multitask else [measure(name, Path(scratch), args.repeats)
                                                  for name in args.sizes]
        multitask = [measure_multitask(name, Path(scratch), args.repeats, args.tasks, args.signals)
                     for name in args.sizes] if args.multitask else []
    if multitask:
        print_multitask(multitask, args.repeats)
    if not results:
        if args.json:
            Path(args.json).write_text(json.dumps({"multitask": multitask}, indent=2))
        return
    print(f"inputs: synthetic chromosomes (random ACGT, 2% + 2.5% N gaps), {LENGTH}-bp windows, "
          f"stride {LENGTH}, random 80/10/10 split, balanced weights; median of {args.repeats} runs, "
          "page cache warm, `sync` before each\n")
    print("| chromosome | bp | peaks | windows | windows | labels | split | onehot | dataset "
          "| **build total** | Mbp/s | peak RSS | naive (extrapolated) | speed-up | I/O limit | × I/O limit "
          "| build + sync | I/O limit + sync | × | index (one-time) |")
    print("|---|" + "---:|" * 19)
    for r in results:
        s = r["seconds"]
        print(f"| {r['name']} size | {r['bp']:,} | {r['peaks']:,} | {r['windows']:,} | {s['windows']:.2f} s "
              f"| {s['labels']:.2f} s | {s['split']:.2f} s | {s['onehot']:.2f} s | {s['dataset']:.2f} s | "
              f"**{r['build_seconds']:.2f} s** | {r['mbp_per_s']:.0f} | {r['peak_rss_gb']:.2f} GB | "
              f"{r['naive_seconds']:.1f} s ({r['naive_us_per_window']:.1f} µs/window) | "
              f"{r['naive_seconds'] / r['build_seconds']:.1f}× | {r['io_limit_seconds']:.2f} s | "
              f"{r['build_seconds'] / r['io_limit_seconds']:.1f}× | {r['build_on_disk_seconds']:.2f} s | "
              f"{r['io_limit_on_disk_seconds']:.2f} s | "
              f"{r['build_on_disk_seconds'] / r['io_limit_on_disk_seconds']:.1f}× | {s[PREPARE]:.2f} s |")
    if args.json:
        Path(args.json).write_text(json.dumps(results + [{"multitask": multitask}] if multitask else results,
                                              indent=2))


if __name__ == "__main__":
    main()
