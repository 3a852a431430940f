#!/usr/bin/env python
"""Prediction throughput: score every window of a synthetic chromosome the size of hg19
chr1 with the ``full`` model (stride 50) and write its bedGraph, bigWig and sites.

Prints windows per second (end to end: read, encode, predict, write tracks) and the peak
RSS (VmHWM) of the process that did it. The model is untrained: speed does not depend on
its weights.

Usage: python benchmarks/predict_throughput.py [--size 249250621] [--stride 50]
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

LENGTH = 101


def child(folder: Path, stride: int) -> None:
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.genomewide.predict import predict_chromosome
    from tfbinding.models.architectures import build_model
    from tfbinding.models.inference import configure_tensorflow

    prepare_fasta(folder / "chr1.fa", folder / "prepared" / "chr1.fa")
    configure_tensorflow(0)
    (folder / "full").mkdir()
    build_model("full", LENGTH).save(folder / "full" / "model.keras")
    begin = time.perf_counter()
    metrics = predict_chromosome(folder / "full", "full", folder / "prepared" / "chr1.fa", "chr1",
                                 folder / "predictions", length=LENGTH, stride=stride, threshold=0.5)
    seconds = time.perf_counter() - begin
    hwm = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    print(json.dumps({"windows": metrics["windows"], "seconds": seconds, "peak_rss": hwm}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=249_250_621)
    parser.add_argument("--stride", type=int, default=50)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.stride)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        fasta, _ = write_synthetic(folder, "chr1", args.size, 10)
        output = subprocess.run([sys.executable, __file__, "--child", str(folder), "--stride", str(args.stride)],
                                capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if output.returncode:
            raise SystemExit(output.stderr)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        bedgraph = (folder / "predictions" / "chr1.bedGraph").stat().st_size
    print(f"# predict_throughput benchmark, {date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"inputs: synthetic chromosome of {args.size:,} bp (4.5% N), model 'full', {LENGTH}-bp windows, "
          f"stride {args.stride}\n")
    print("| windows | wall time | windows/s | peak RSS | bedGraph |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {result['windows']:,} | {result['seconds']:.1f} s | {result['windows'] / result['seconds']:,.0f} "
          f"| {result['peak_rss'] / 1e9:.2f} GB | {bedgraph / 1e6:,.0f} MB |")


if __name__ == "__main__":
    main()
