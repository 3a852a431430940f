#!/usr/bin/env python
"""Training throughput: memory-mapped uint8 batches versus an in-memory float32 fit.

Both runs train the same model (the study's ``full``) on the same arrays, each in its own
process, and report samples per second (epochs after the first, which traces the graph)
and the process's peak RSS (VmHWM):

  * ``memmap``: ``SplitBatches`` reads X as a uint8 memory map and casts each batch;
  * ``in-memory``: ``model.fit(X.astype('float32'), y, sample_weight=w)``, as notebooks do.

A third run gives the context model's throughput: ``improved`` on 501-bp rows (the window
plus 200-bp flanks), memory-mapped. Batch sizes are the defaults of ``TrainingConfig``.

Usage: python benchmarks/train_throughput.py [--windows 200000] [--epochs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from tfbinding.config import TrainingConfig

LENGTH = 101
FLANK = 200


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def make_arrays(folder: Path, windows: int, length: int = LENGTH) -> None:
    """Random one-hot windows, 2% positives carrying TGACTCA, balanced weights."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X = np.zeros((windows, length, 4), dtype=np.uint8)
    X[np.arange(windows)[:, None], np.arange(length)[None, :], rng.integers(0, 4, (windows, length))] = 1
    y = (rng.random(windows) < 0.02).astype(np.float32)
    site = np.eye(4, dtype=np.uint8)[[3, 2, 0, 1, 3, 1, 0]]
    X[y == 1, 40:47] = site
    w = np.where(y == 1, windows / (2 * y.sum()), windows / (2 * (windows - y.sum()))).astype(np.float32)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y.reshape(-1, 1))
    np.save(folder / "w.npy", w.reshape(-1, 1))


def child(folder: Path, mode: str, epochs: int) -> None:
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow
    configure_tensorflow(0)
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    timer.seconds = []
    if mode in ("memmap", "improved-flank"):
        from tfbinding.models.batches import SplitBatches

        flanked = mode == "improved-flank"
        source = folder / "flank" if flanked else folder
        arrays = {name: np.load(source / f"{name}.npy", mmap_mode="r") for name in ("X", "y", "w")}
        config = TrainingConfig()
        model = build_model("improved" if flanked else "full", arrays["X"].shape[1], config)
        batch_size = config.improved_batch_size if flanked else config.batch_size
        model.fit(SplitBatches(arrays, batch_size, weighted=True, shuffle=True,
                               reverse_complement_half=flanked), epochs=epochs, callbacks=[timer], verbose=0)
        windows = len(arrays["y"])
    else:
        model = build_model("full", LENGTH, TrainingConfig())
        X = np.load(folder / "X.npy").astype("float32")
        y, w = np.load(folder / "y.npy"), np.load(folder / "w.npy").reshape(-1)
        model.fit(X, y, sample_weight=w, batch_size=TrainingConfig().batch_size, shuffle=True, epochs=epochs,
                  callbacks=[timer], verbose=0)
        windows = len(y)
    steady = timer.seconds[1:] or timer.seconds
    print(json.dumps({"samples_per_s": windows / float(np.median(steady)), "peak_rss": peak_rss_bytes()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--flank-windows", type=int, default=50_000)
    parser.add_argument("--child", choices=("memmap", "in-memory", "improved-flank"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.folder), args.child, args.epochs)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_arrays(folder, args.windows)
        make_arrays(folder / "flank", args.flank_windows, LENGTH + 2 * FLANK)
        results = {}
        for mode in ("memmap", "in-memory", "improved-flank"):
            output = subprocess.run([sys.executable, __file__, "--child", mode, "--folder", str(folder),
                                     "--epochs", str(args.epochs)], capture_output=True, text=True,
                                    check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            results[mode] = json.loads(output.stdout.strip().splitlines()[-1])
    float32_x = args.windows * LENGTH * 4 * 4
    memmap, in_memory = results["memmap"], results["in-memory"]  # improved-flank is reported, not compared
    print(f"# train_throughput benchmark, {date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"inputs: {args.windows:,} random {LENGTH}-bp windows, model 'full', batch {TrainingConfig().batch_size}, "
          f"{args.epochs} epochs (the first is not timed); float32 X = {float32_x / 1e6:.0f} MB\n")
    print("| loop | model, row length | samples/s | peak RSS |")
    print("|---|---|---:|---:|")
    rows = {"memmap": f"full, {LENGTH} bp", "in-memory": f"full, {LENGTH} bp",
            "improved-flank": f"improved, {LENGTH + 2 * FLANK} bp ({args.flank_windows:,} windows)"}
    for mode, result in results.items():
        print(f"| {mode} | {rows[mode]} | {result['samples_per_s']:,.0f} | {result['peak_rss'] / 1e6:,.0f} MB |")
    speed = memmap["samples_per_s"] / in_memory["samples_per_s"]
    saved = in_memory["peak_rss"] - memmap["peak_rss"]
    print(f"\nmemmap / in-memory speed: {speed:.2f}× (target ≥ 0.9×); peak RSS lower by "
          f"{saved / 1e6:,.0f} MB (target ≥ {float32_x / 1e6:,.0f} MB, the float32 X)")


if __name__ == "__main__":
    main()
