#!/usr/bin/env python
"""Prediction throughput: score every window of a synthetic chromosome the size of hg19
chr1 with ``improved`` (101-bp windows + 2 x 200-bp flanks, both strands), per window
against the chromosome-wide scan, and write its bedGraph, bigWig and sites.

One run prints, side by side (each in its own child process, so each has its own peak
RSS, VmHWM):

* ``improved``, engine ``per_window`` (the reference), stride 50: on a shorter synthetic
  chromosome of the same make (``--per-window-size``; ~25 min for all of chr1 on 2 cores),
  its windows/s extrapolated per window to chr1's windows;
* ``improved``, engine ``scan``, stride 50 and stride 10, on the whole chromosome;
* optionally (``--full``) the study's ``full`` model per window at stride 50 on the whole
  chromosome (the README's older figure);
* the compute rate the scan reaches (its trunk's FLOP/s) against a float32 2048 x 2048
  matrix product in numpy and in TensorFlow, measured in the same run.

Windows/s are end to end (read, select, encode, predict, write tracks; model loading
excluded). The models are untrained: speed does not depend on their weights (improved's
output layer is rescaled so that its scores spread as a trained model's do, which sets the
size, and memory, of the tracks). Figures only, no timed assertions.

Usage: python benchmarks/predict_throughput.py [--size 249250621] [--per-window-size 20000000]
       [--strides 50 10] [--full]
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

sys.path.insert(0, str(Path(__file__).parent))
from build_dataset import write_synthetic  # noqa: E402

LENGTH, FLANK = 101, 200
ROW = LENGTH + 2 * FLANK


def _hwm() -> int:
    """This process's peak RSS (VmHWM) in bytes."""
    return next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class StagePeaks:
    """Peak RSS per stage of ``predict_chromosome``: VmHWM is reset before each wrapped
    call and read after it; the process's peak is the maximum over all readings."""

    def __init__(self):
        self.stages: dict[str, int] = {}
        self.peak = 0

    def wrap(self, module, name: str, label: str) -> None:
        inner = getattr(module, name)

        def wrapped(*args, **kwargs):
            self.peak = max(self.peak, _hwm())
            resettable = _reset_hwm()
            try:
                return inner(*args, **kwargs)
            finally:
                hwm = _hwm()
                self.peak = max(self.peak, hwm)
                if resettable:
                    self.stages[label] = max(self.stages.get(label, 0), hwm)

        setattr(module, name, wrapped)


def trunk_flops(plan, phases: tuple[int, ...], span: int) -> tuple[float, float]:
    """FLOPs (2 x multiply-adds) of one scanned chunk of ``span`` bases, both strands:
    ``(first, rest)``, the first convolution (computed by table lookups: counted as the
    convolution it replaces) and the later ones as :class:`Scanner` computes them (one
    pass per pooling phase it needs).
    """
    k, cin, cout = plan.kernels[0].shape
    first = 2.0 * k * cin * cout * span * 2
    size0 = plan.pools[0]
    state, step, rest = {sub for sub in range(size0) if any(ph % size0 == sub for ph in phases)}, size0, 0.0
    for kernel, size in zip(plan.kernels[1:], plan.pools[1:]):
        k, cin, cout = kernel.shape
        rest += len(state) * 2.0 * k * cin * cout * (span / step) * 2
        modulus = step * size
        state = {residue + step * sub for residue in state for sub in range(size)
                 if any(ph % modulus == residue + step * sub for ph in phases)}
        step = modulus
    return first, rest


def row_flops(plan) -> float:
    """FLOPs of the convolutions of one row, scored per window (one strand)."""
    total, length = 0.0, plan.row_length
    for kernel, pad, pool in zip(plan.kernels, plan.pads, plan.pools):
        k, cin, cout = kernel.shape
        length = length if pad else length - k + 1
        total += 2.0 * k * cin * cout * length
        length //= pool
    return total


def spread(model):
    """Rescale the untrained model's output layer so that its scores spread over (0, 1) as a
    trained model's do: speed does not depend on the weights, but the size of the tracks
    (segments of equal rounded mean are joined) does, and with it their memory.
    """
    rng = np.random.default_rng(0)
    rows = (rng.integers(0, 4, (256, ROW))[..., None] == np.arange(4)).astype(np.float32)
    p = np.clip(np.asarray(model.predict_on_batch(rows), np.float64).ravel(), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p))
    scale = 1.5 / max(float(z.std()), 1e-6)
    layer = model.get_layer("logit")
    layer.kernel.assign((np.asarray(layer.kernel) * scale).astype(np.float32))
    layer.bias.assign((scale * (np.asarray(layer.bias) - z.mean())).astype(np.float32))
    return model


def child_setup(folder: Path, fastas: list[str], models: list[str]) -> None:
    """Prepare (index) the FASTAs and save the untrained models."""
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow

    for name in fastas:
        prepare_fasta(folder / f"{name}.fa", folder / "prepared" / f"{name}.fa")
    configure_tensorflow(0)
    for model in models:
        (folder / model).mkdir()
        if model == "improved":
            spread(build_model("improved", ROW)).save(folder / model / "model.keras")
        else:
            build_model(model, LENGTH).save(folder / model / "model.keras")
    print(json.dumps({}))


def child_predict(folder: Path, fasta: str, model: str, engine: str, stride: int) -> None:
    """One predict_chromosome run; prints its figures as JSON."""
    import keras

    from tfbinding.genomewide import predict as predict_module
    from tfbinding.genomewide import scan as scan_module
    from tfbinding.genomewide.predict import predict_chromosome
    from tfbinding.models.inference import configure_tensorflow

    configure_tensorflow(0)
    peaks = StagePeaks()
    peaks.wrap(predict_module, "select_windows", "select_windows")
    peaks.wrap(predict_module, "score_windows", "score_windows")
    peaks.wrap(predict_module, "_task_outputs", "tracks")
    scanned = {"seconds": 0.0, "first_flops": 0.0, "flops": 0.0, "chunks": 0, "phases": set()}
    scanners = []
    inner_scan, inner_trunk = scan_module.Scanner.scan, scan_module.Scanner._trunk_fn

    def scan(self, *args, **kwargs):
        scanners.append(self)
        begin = time.perf_counter()
        try:
            return inner_scan(self, *args, **kwargs)
        finally:
            scanned["seconds"] += time.perf_counter() - begin

    def trunk_fn(self, phases, grid):
        p = self.plan
        first, rest = trunk_flops(p, phases, self.chunk_bp + p.row_length + 2 * p.margin)
        scanned["first_flops"] += first
        scanned["flops"] += rest
        scanned["chunks"] += 1
        scanned["phases"] |= set(phases)
        return inner_trunk(self, phases, grid)

    scan_module.Scanner.scan, scan_module.Scanner._trunk_fn = scan, trunk_fn
    flank = FLANK if model == "improved" else 0
    begin = time.perf_counter()
    metrics = predict_chromosome(folder / model, model, folder / "prepared" / f"{fasta}.fa", "chr1",
                                 folder / f"predictions_{model}_{engine}_{stride}", length=LENGTH, flank=flank,
                                 stride=stride, threshold=0.5, engine=engine)
    seconds = time.perf_counter() - begin
    result = {"windows": metrics["windows"], "seconds": seconds, "engine": metrics["engine"],
              "peak_rss": max(peaks.peak, _hwm()), "stages": peaks.stages,
              "bedgraph": (folder / f"predictions_{model}_{engine}_{stride}" / "chr1.bedGraph").stat().st_size}
    if model == "improved":
        plan = scanners[0].plan if scanners else scan_module.plan_from_model(
            keras.models.load_model(folder / model / "model.keras"))
        result["row_flops"] = row_flops(plan)
    if scanned["chunks"]:
        result["scan"] = {**scanned, "phases": sorted(int(ph) for ph in scanned["phases"]),
                          "chunk_bp": scanners[0].chunk_bp}
    print(json.dumps(result))


def child_matmul() -> None:
    """GFLOP/s of a float32 2048 x 2048 matrix product, numpy and TensorFlow (best of 10)."""
    import tensorflow as tf

    n = 2048
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    best = {}
    for name, product in (("numpy", lambda: a @ b),
                          ("tensorflow", lambda: tf.linalg.matmul(ta, tb).numpy())):
        product()
        times = []
        for _ in range(10):
            begin = time.perf_counter()
            product()
            times.append(time.perf_counter() - begin)
        best[name] = 2.0 * n ** 3 / min(times)
    print(json.dumps(best))


def run_child(*arguments: str) -> dict:
    output = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if output.returncode:
        raise SystemExit(output.stderr)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=249_250_621, help="chromosome length (default: hg19 chr1)")
    parser.add_argument("--per-window-size", type=int, default=20_000_000,
                        help="length of the chromosome the per-window path is timed on (0: the whole "
                             "--size chromosome); its windows/s is extrapolated per window")
    parser.add_argument("--strides", type=int, nargs="+", default=[50, 10],
                        help="scan strides; the first is also the per-window stride (default: 50 10)")
    parser.add_argument("--full", action="store_true", help="also time the study's 'full' model per window, "
                        "stride 50, on the whole chromosome (the README's older figure)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--fasta", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--stride", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "setup":
        child_setup(Path(args.child), args.fasta.split(","), args.model.split(","))
        return
    if args.mode == "predict":
        child_predict(Path(args.child), args.fasta, args.model, args.engine, args.stride)
        return
    if args.mode == "matmul":
        child_matmul()
        return
    load_before = os.getloadavg()
    prefix = 0 < args.per_window_size < args.size
    base = args.strides[0]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_synthetic(folder, "chr1", args.size, 10)
        fastas = ["chr1"]
        if prefix:
            (folder / "short").mkdir()
            write_synthetic(folder / "short", "chr1", args.per_window_size, 10)
            (folder / "short" / "chr1.fa").rename(folder / "short.fa")
            fastas.append("short")
        models = ["improved"] + (["full"] if args.full else [])
        run_child("--child", scratch, "--mode", "setup", "--fasta", ",".join(fastas), "--model", ",".join(models))
        runs = []   # (label, model, engine, stride, bp, result)
        per_window_fasta = "short" if prefix else "chr1"
        runs.append(("per window", "improved", "per_window", base,
                     args.per_window_size if prefix else args.size,
                     run_child("--child", scratch, "--mode", "predict", "--fasta", per_window_fasta, "--model",
                               "improved", "--engine", "per_window", "--stride", str(base))))
        for stride in args.strides:
            runs.append(("scan", "improved", "scan", stride, args.size,
                         run_child("--child", scratch, "--mode", "predict", "--fasta", "chr1", "--model",
                                   "improved", "--engine", "scan", "--stride", str(stride))))
        if args.full:
            runs.append(("per window", "full", "per_window", base, args.size,
                         run_child("--child", scratch, "--mode", "predict", "--fasta", "chr1", "--model", "full",
                                   "--engine", "per_window", "--stride", str(base))))
        matmul = run_child("--mode", "matmul", "--child", scratch)
    load_after = os.getloadavg()
    report(args, runs, matmul, prefix, load_before, load_after)


def report(args, runs, matmul, prefix: bool, load_before, load_after) -> None:
    base = args.strides[0]
    scans = {stride: result for _, model, engine, stride, _, result in runs if engine == "scan"}
    chr1_windows = scans[base]["windows"] if base in scans else None
    print(f"# predict_throughput benchmark, {date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average (1, 5, 15 min) {tuple(round(x, 2) for x in load_before)} "
          f"before, {tuple(round(x, 2) for x in load_after)} after")
    print(f"inputs: synthetic chromosome of {args.size:,} bp (4.5% N, benchmarks/build_dataset.py), untrained "
          f"models; improved: {LENGTH}-bp windows + 2 x {FLANK}-bp flanks ({ROW}-bp rows), both strands; "
          f"full: {LENGTH}-bp rows, one strand")
    if prefix:
        print(f"per-window improved: timed on a {args.per_window_size:,}-bp synthetic chromosome of the same make; "
              f"its chr1 time is EXTRAPOLATED per window (chr1's windows / its windows/s)")
    print()
    print("| model | engine | stride | chromosome | windows | wall time | windows/s | chr1 time | peak RSS | bedGraph |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rates = {}
    for label, model, engine, stride, bp, result in runs:
        rate = result["windows"] / result["seconds"]
        rates[(model, engine, stride)] = rate
        extrapolated = bp < args.size
        if extrapolated and chr1_windows:
            chr1 = f"{chr1_windows / rate:,.0f} s (extrapolated)"
        elif extrapolated:
            chr1 = "n/a"
        else:
            chr1 = f"{result['seconds']:,.0f} s"
        print(f"| {model} | {result['engine']} | {stride} | {bp / 1e6:,.1f} Mbp | {result['windows']:,} "
              f"| {result['seconds']:,.1f} s | {rate:,.0f} | {chr1} | {result['peak_rss'] / 1e9:.2f} GB "
              f"| {result['bedgraph'] / 1e6:,.0f} MB |")
    print()
    per_window = rates.get(("improved", "per_window", base))
    if per_window and ("improved", "scan", base) in rates:
        print(f"scan / per window, stride {base}: {rates[('improved', 'scan', base)] / per_window:.1f}x windows/s")
    for stride in args.strides[1:]:
        if stride in scans and base in scans:
            print(f"scan time, stride {stride} / stride {base}: {scans[stride]['seconds'] / scans[base]['seconds']:.2f}x "
                  f"(for {scans[stride]['windows'] / scans[base]['windows']:.1f}x the windows)")
    print()
    print("peak RSS (VmHWM) per stage of predict_chromosome:")
    print("| model | engine | stride | select_windows | score_windows | tracks (bedGraph, bigWig, sites) | process |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, model, engine, stride, bp, result in runs:
        s = result["stages"]
        cell = lambda key: f"{s[key] / 1e9:.2f} GB" if key in s else "n/a"  # noqa: E731
        print(f"| {model} | {engine} | {stride} | {cell('select_windows')} | {cell('score_windows')} "
              f"| {cell('tracks')} | {result['peak_rss'] / 1e9:.2f} GB |")
    print()
    print(f"float32 2048 x 2048 matmul: numpy {matmul['numpy'] / 1e9:.0f} GFLOP/s, "
          f"TensorFlow {matmul['tensorflow'] / 1e9:.0f} GFLOP/s")
    best = max(matmul.values())
    print("| model | engine | stride | conv FLOPs computed | FLOP/s | vs best matmul | per-window-equivalent FLOP/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, model, engine, stride, bp, result in runs:
        if model != "improved":
            continue
        useful = result["windows"] * 2 * result["row_flops"]
        if engine == "scan":
            scan = result["scan"]
            done = scan["first_flops"] + scan["flops"]
            rate = done / scan["seconds"]
            print(f"| improved | scan (trunk, {scan['seconds']:.0f} s in Scanner.scan) | {stride} | {done / 1e12:.1f} T "
                  f"| {rate / 1e9:.0f} G | {rate / best:.0%} | {useful / scan['seconds'] / 1e9:,.0f} G |")
            print(f"| improved | scan, convolutions 2-3 only | {stride} | {scan['flops'] / 1e12:.1f} T "
                  f"| {scan['flops'] / scan['seconds'] / 1e9:.0f} G | {scan['flops'] / scan['seconds'] / best:.0%} | |")
        else:
            rate = useful / result["seconds"]
            print(f"| improved | per window (end to end) | {stride} | {useful / 1e12:.1f} T | {rate / 1e9:.0f} G "
                  f"| {rate / best:.0%} | {rate / 1e9:.0f} G |")
    print("\n(FLOPs: 2 x multiply-adds of the convolutions, both strands; the scan's first convolution runs as "
          "table lookups and counts as the convolution it replaces; per-window-equivalent: the per-window "
          "path's FLOPs for the same windows, divided by the scan's time)")


if __name__ == "__main__":
    main()
