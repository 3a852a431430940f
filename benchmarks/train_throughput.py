#!/usr/bin/env python
"""Training throughput: memory-mapped uint8 batches versus an in-memory float32 fit.

Each loop trains the same model on the same arrays, each in its own process, and reports
samples per second (the median of the epochs after the first, which traces the graph) and
the process's peak RSS (VmHWM). For ``full`` (101 bp, batch 250, balanced batches) and
``improved`` (101-bp windows plus 2 x 200-bp flanks, batch 256, weights, reverse-complement
augmentation), at the defaults of ``TrainingConfig``:

  * ``pydataset``: the batches of ``training_batches`` fed through Keras' ``PyDataset``
    (the loop before issue 21; Keras also shuffles the batch order);
  * ``tf.data``: the same batches fed by ``batch_dataset`` (what ``train_model`` does);
  * ``in-memory``: ``model.fit(X.astype('float32'), y, sample_weight=w)``, as notebooks do
    (for ``improved`` without the augmentation, which a plain fit cannot do).

The loops run in rounds (each loop once per round, alternating) and each figure is the
median over rounds; the machine's load average is printed before and after.

``--large-split-gb G`` then builds a dataset whose train split's X is G GB (memory-mapped,
``full``'s 101-bp rows), trains ``full`` on it with ``train_model`` and samples the process's
resident memory (anonymous and file-backed) every 0.2 s: once as ``train_model`` runs
(rows read with ``pread``, :func:`tfbinding.io.npy.read_rows`) and once reading the rows
through the memory map (the loop before), to show what it bounds.

Usage: python benchmarks/train_throughput.py [--windows 100000] [--flank-windows 20000]
       [--epochs 4] [--rounds 2] [--large-split-gb 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

from tfbinding.config import TrainingConfig

LENGTH = 101
FLANK = 200
MODELS = {"full": LENGTH, "improved": LENGTH + 2 * FLANK}
LOOPS = ("pydataset", "tf.data", "in-memory")


def memory_status() -> dict[str, int]:
    """VmHWM, VmRSS, RssAnon and RssFile of this process, in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def peak_rss_bytes() -> int:
    return memory_status()["VmHWM"]


class MemorySampler(threading.Thread):
    """Peak RssAnon and RssFile, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peaks, self.running = interval, {"RssAnon": 0, "RssFile": 0}, True

    def run(self):
        while self.running:
            status = memory_status()
            for key in self.peaks:
                self.peaks[key] = max(self.peaks[key], status[key])
            time.sleep(self.interval)


def random_onehot(rng, rows: int, length: int, positives: np.ndarray) -> np.ndarray:
    X = np.zeros((rows, length, 4), dtype=np.uint8)
    X[np.arange(rows)[:, None], np.arange(length)[None, :], rng.integers(0, 4, (rows, length))] = 1
    site = np.eye(4, dtype=np.uint8)[[3, 2, 0, 1, 3, 1, 0]]  # TGACTCA
    middle = length // 2 - 3
    X[positives, middle:middle + 7] = site
    return X


def write_split(folder: Path, windows: int, length: int, seed: int = 0, chunk: int = 500_000) -> None:
    """Random one-hot windows, 2% positives carrying TGACTCA, balanced weights; X written
    chunk by chunk into a memory-mapped ``.npy``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y = (rng.random(windows) < 0.02).astype(np.float32)
    X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.uint8, shape=(windows, length, 4))
    for start in range(0, windows, chunk):
        stop = min(windows, start + chunk)
        X[start:stop] = random_onehot(rng, stop - start, length, y[start:stop] == 1)
    X.flush()
    del X
    w = np.where(y == 1, windows / (2 * y.sum()), windows / (2 * (windows - y.sum()))).astype(np.float32)
    np.save(folder / "y.npy", y.reshape(-1, 1))
    np.save(folder / "w.npy", w.reshape(-1, 1))
    np.save(folder / "ids.npy", np.array([f"chrS:{i}-{i + length}" for i in range(windows)]))


def child(folder: Path, loop: str, model_name: str, epochs: int) -> None:
    from tfbinding.config import uses_reverse_complement, uses_weights
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow
    configure_tensorflow(0)
    import keras

    from tfbinding.models.batches import batch_dataset
    from tfbinding.models.train import training_batches

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    timer.seconds = []
    config = TrainingConfig()
    improved = model_name == "improved"
    batch_size = config.improved_batch_size if improved else config.batch_size
    source = folder / model_name
    arrays = {name: np.load(source / f"{name}.npy", mmap_mode="r") for name in ("X", "y", "w")}
    model = build_model(model_name, arrays["X"].shape[1], config)
    if loop == "in-memory":
        X = np.asarray(arrays["X"]).astype("float32")
        y, w = np.load(source / "y.npy"), np.load(source / "w.npy").reshape(-1)
        model.fit(X, y, sample_weight=w if uses_weights(model_name) else None, batch_size=batch_size, shuffle=True,
                  epochs=epochs, callbacks=[timer], verbose=0)
        samples = len(y)
    else:
        batches = training_batches(arrays, batch_size, uses_weights(model_name), config.imbalance_for(model_name),
                                   config, uses_reverse_complement(model_name))
        if loop == "pydataset":
            model.fit(batches, epochs=epochs, callbacks=[timer], verbose=0)
        else:
            model.fit(batch_dataset(batches), steps_per_epoch=len(batches), epochs=epochs, callbacks=[timer],
                      verbose=0)
        samples = sum(len(batches.rows(0, index)) for index in range(len(batches)))
    steady = timer.seconds[1:] or timer.seconds
    print(json.dumps({"samples_per_s": samples / float(np.median(steady)), "peak_rss": peak_rss_bytes(),
                      "samples_per_epoch": samples}))


def large_child(folder: Path, pread: bool, epochs: int, steps: int) -> None:
    """``train_model('full')`` on the large split, sampling the resident memory."""
    import tfbinding.models.batches as batches
    import tfbinding.models.train as train

    if not pread:  # the loop before: rows gathered through the memory map
        batches.read_rows = train.read_rows = lambda array, rows: np.asarray(array[rows])
    sampler = MemorySampler()
    sampler.start()
    start = time.perf_counter()
    config = TrainingConfig(epochs=epochs, epoch_steps=steps, early_stopping_start=0, patience=epochs)
    summary = train.train_model(folder / "dataset", "full", folder / f"model-{int(pread)}", config)
    sampler.running = False
    sampler.join()
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss": peak_rss_bytes(), **sampler.peaks,
                      "status": summary["status"], "epochs_run": summary["epochs_run"]}))


def run_child(args: list[str]) -> dict:
    output = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if output.returncode:
        sys.stderr.write(output.stderr[-4000:])
        raise SystemExit(f"child {args} failed")
    return json.loads(output.stdout.strip().splitlines()[-1])


def throughput(args) -> None:
    config = TrainingConfig()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_split(folder / "full", args.windows, MODELS["full"])
        write_split(folder / "improved", args.flank_windows, MODELS["improved"])
        runs: dict[tuple[str, str], list[dict]] = {}
        load_before = os.getloadavg()
        for _ in range(args.rounds):
            for model_name in args.models:
                for loop in LOOPS:
                    runs.setdefault((model_name, loop), []).append(run_child(
                        ["--child", loop, "--model", model_name, "--folder", str(folder), "--epochs",
                         str(args.epochs)]))
        load_after = os.getloadavg()
    print(f"# train_throughput benchmark, {date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average {load_before[0]:.2f} / {load_before[1]:.2f} before, "
          f"{load_after[0]:.2f} / {load_after[1]:.2f} after (1 / 5 min)")
    print(f"inputs: full {args.windows:,} random {LENGTH}-bp windows (batch {config.batch_size}, "
          f"{config.imbalance}), improved {args.flank_windows:,} rows of {MODELS['improved']} bp (batch "
          f"{config.improved_batch_size}, {config.improved_imbalance}, reverse-complement augmentation); "
          f"{args.epochs} epochs (the first untimed), median of {args.rounds} rounds\n")
    print("| model | loop | samples/s | peak RSS | × in-memory |")
    print("|---|---|---:|---:|---:|")
    for model_name in args.models:
        speed = {loop: statistics.median(r["samples_per_s"] for r in runs[model_name, loop]) for loop in LOOPS}
        for loop in LOOPS:
            rss = max(r["peak_rss"] for r in runs[model_name, loop])
            print(f"| {model_name} | {loop} | {speed[loop]:,.0f} | {rss / 1e6:,.0f} MB | "
                  f"{speed[loop] / speed['in-memory']:.2f}× |")
    for model_name in args.models:
        rounds = [f"{a['samples_per_s'] / b['samples_per_s']:.2f}"
                  for a, b in zip(runs[model_name, "tf.data"], runs[model_name, "in-memory"])]
        print(f"\n{model_name}: tf.data / in-memory per round: {', '.join(rounds)} (target ≥ 0.9×)", end="")
    print()


def large_split(args) -> None:
    rows = int(args.large_split_gb * 1e9 / (LENGTH * 4))
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        folder = Path(scratch)
        start = time.perf_counter()
        write_split(folder / "dataset" / "train", rows, LENGTH)
        write_split(folder / "dataset" / "valid", 20_000, LENGTH, seed=1)
        write_split(folder / "dataset" / "test", 1_000, LENGTH, seed=2)
        (folder / "dataset" / "manifest.json").write_text(json.dumps({"format": "tfbinding-dataset/1"}))
        size = (folder / "dataset" / "train" / "X.npy").stat().st_size
        print(f"\n# large split: train X {size / 1e9:.2f} GB ({rows:,} windows of {LENGTH} bp), written in "
              f"{time.perf_counter() - start:.0f} s; train_model('full'), {args.large_epochs} epochs of "
              f"{args.large_steps} batches of 250 (balanced batches, rows drawn across the whole split)")
        print(f"load average {os.getloadavg()[0]:.2f}\n")
        print("| pages of X | wall | peak RSS (VmHWM) | peak anonymous | peak file-backed | split / peak RSS |")
        print("|---|---:|---:|---:|---:|---:|")
        for pread in (True, False):
            result = run_child(["--large-child", str(int(pread)), "--folder", str(folder), "--epochs",
                                str(args.large_epochs), "--steps", str(args.large_steps)])
            label = "read with pread (default)" if pread else "gathered through the memory map (before)"
            print(f"| {label} | {result['seconds']:.0f} s | {result['peak_rss'] / 1e9:.2f} GB | "
                  f"{result['RssAnon'] / 1e9:.2f} GB | {result['RssFile'] / 1e9:.2f} GB | "
                  f"{size / result['peak_rss']:.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000, help="full's windows")
    parser.add_argument("--flank-windows", type=int, default=20_000, help="improved's windows")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--large-split-gb", type=float, default=0.0,
                        help="also train on a memory-mapped split of this many GB (0: skip)")
    parser.add_argument("--large-only", action="store_true", help="skip the throughput loops")
    parser.add_argument("--large-epochs", type=int, default=2)
    parser.add_argument("--large-steps", type=int, default=2000)
    parser.add_argument("--scratch", default=None, help="folder for the large split (default: the temp dir)")
    parser.add_argument("--child", choices=LOOPS, help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=list(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--large-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.folder), args.child, args.model, args.epochs)
    elif args.large_child is not None:
        large_child(Path(args.folder), bool(args.large_child), args.epochs, args.steps)
    else:
        if not args.large_only:
            throughput(args)
        if args.large_split_gb:
            large_split(args)


if __name__ == "__main__":
    main()
