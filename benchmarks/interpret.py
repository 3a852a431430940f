#!/usr/bin/env python
"""Interpretation throughput on a trained model: attributions plus motif discovery for
2,000 windows, in-silico saturation mutagenesis (ISM) of 100 windows, and variant scoring
in variants per second.

Run after the demo (`snakemake --cores 8` builds and trains it):

    python benchmarks/interpret.py --results results/demo --model improved

Windows are the dataset's windows (positives first); the variants are the demo VCF's SNVs,
repeated at random other positions of the genome until there are ``--variants`` of them.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def synthetic_vcf(fasta: Path, path: Path, count: int, seed: int = 0) -> None:
    """``count`` SNVs at random ACGT positions of the genome, REF from the FASTA."""
    from tfbinding.io.fasta import Genome

    genome = Genome(fasta)
    rng = np.random.default_rng(seed)
    chroms = list(genome.sizes)
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={genome.sizes[c]}>" for c in chroms]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    records = []
    for chrom in chroms:
        sequence = genome.sequence(chrom)
        upper = np.frombuffer(sequence.tobytes().upper(), np.uint8)
        usable = np.flatnonzero(np.isin(upper, np.frombuffer(b"ACGT", np.uint8)))
        for pos in np.sort(rng.choice(usable, count // len(chroms), replace=False)):
            ref = chr(upper[pos])
            records.append(f"{chrom}\t{pos + 1}\tv{len(records)}\t{ref}\t{'ACGT'.replace(ref, '')[pos % 3]}\t.\tPASS\t.")
    path.write_text("\n".join(lines + records) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/demo")
    parser.add_argument("--model", default="improved")
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--ism", type=int, default=100)
    parser.add_argument("--variants", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    from tfbinding.config import uses_reverse_complement
    from tfbinding.interpret.discover_motifs import discover_motifs
    from tfbinding.interpret.explain import attribute
    from tfbinding.interpret.score_variants import score_vcf
    from tfbinding.interpret.selection import windows_from_dataset
    from tfbinding.models.inference import load_model

    results = Path(args.results)
    model_dir = results / "models" / args.model
    rc = uses_reverse_complement(args.model)
    fasta = next((REPO / "resources" / "genomes").glob("*/*.fa"))
    load_model(model_dir)  # TensorFlow started before the clocks
    work = Path(tempfile.mkdtemp(prefix="tfbinding-interpret-"))
    windows = windows_from_dataset(results / "dataset", ("train", "valid", "test"), positives_only=True,
                                   max_windows=args.windows)
    if len(windows.X) < args.windows:  # too few positives: fill up with other windows
        extra = windows_from_dataset(results / "dataset", ("train",), positives_only=False,
                                     max_windows=args.windows - len(windows.X))
        windows = type(windows)(np.concatenate([windows.X, extra.X]), np.concatenate([windows.ids, extra.ids]),
                                windows.source)
    figures = {}
    started = time.perf_counter()
    attribute(model_dir, windows, work / "attributions.npz", rc_average=rc, threads=args.threads)
    figures["attributions"] = time.perf_counter() - started
    started = time.perf_counter()
    found = discover_motifs(work / "attributions.npz", work / "motifs", threads=args.threads)
    figures["motif discovery"] = time.perf_counter() - started
    first = type(windows)(windows.X[:args.ism], windows.ids[:args.ism], windows.source)
    started = time.perf_counter()
    attribute(model_dir, first, work / "ism.npz", rc_average=rc, ism_windows=list(range(len(first.X))),
              threads=args.threads)
    ism_total = time.perf_counter() - started
    started = time.perf_counter()
    attribute(model_dir, first, work / "no_ism.npz", rc_average=rc, threads=args.threads)
    figures["ISM"] = ism_total - (time.perf_counter() - started)
    synthetic_vcf(fasta, work / "variants.vcf", args.variants)
    started = time.perf_counter()
    summary = score_vcf(model_dir, work / "variants.vcf", fasta, work / "v.tsv", work / "v.vcf.gz",
                        rc_average=rc, threads=args.threads)
    figures["variant scoring"] = time.perf_counter() - started
    scored = summary.get("scored", args.variants)

    length = windows.X.shape[1]
    print(f"# interpretation benchmark, {date.today().isoformat()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"model '{args.model}' of {results}, {length}-bp rows, {args.threads} threads\n")
    print("| step | what | seconds | rate |")
    print("|---|---|---:|---:|")
    print(f"| attributions | {len(windows.X):,} windows, integrated gradients, 32 steps | "
          f"{figures['attributions']:.1f} | {len(windows.X) / figures['attributions']:,.0f} windows/s |")
    top = found["pattern_list"][0] if found["pattern_list"] else None
    print(f"| motif discovery | TF-MoDISco-lite + Tomtom on those {len(windows.X):,} windows "
          f"({found['patterns']} patterns) | {figures['motif discovery']:.1f} | — |")
    print(f"| ISM | {len(first.X)} windows × {length} × 3 substitutions | {figures['ISM']:.1f} | "
          f"{len(first.X) * length * 3 / figures['ISM']:,.0f} mutants/s |")
    print(f"| variant scoring | {scored:,} SNVs, REF and ALT, both strands | {figures['variant scoring']:.1f} | "
          f"{scored / figures['variant scoring']:,.0f} variants/s |")
    if top:
        print(f"\ntop pattern: {top}")


if __name__ == "__main__":
    main()
