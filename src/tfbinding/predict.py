"""Score every window of a chromosome with a trained model, streaming in chunks, and write
a bedGraph, a bigWig, called sites and (where peaks are known) held-out metrics."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from .atomic import save_json, save_npz
from .bedio import merge_intervals, read_intervals
from .dataset import load_dataset
from .genome import Genome
from .intervals import overlap_bp
from .labels import LabelRule, label_windows
from .metrics import average_precision, roc_auc, threshold_at_fdr
from .models import uses_reverse_complement
from .onehot import encode_windows
from .tracks import call_sites, mean_track, write_bedgraph, write_bigwig, write_sites
from .windows import select_windows, tile

log = logging.getLogger(__name__)


def _load(model_dir: str | os.PathLike):
    from .train import configure_tensorflow

    configure_tensorflow(0)
    import keras

    return keras.models.load_model(Path(model_dir) / "model.keras")


def calibrate_threshold(model_dir: str | os.PathLike, variant: str, dataset_dir: str | os.PathLike,
                        out: str | os.PathLike, fdr: float = 0.1) -> dict:
    """Choose the site-calling threshold on the validation split: the lowest score whose
    windows at or above it have an FDR of at most ``fdr`` there. Writes ``out`` (JSON)."""
    from .train import predict_probabilities

    data = load_dataset(dataset_dir)
    labels = np.asarray(data.valid["y"]).reshape(-1)
    scores = predict_probabilities(_load(model_dir), data.valid["X"], uses_reverse_complement(variant))
    threshold = threshold_at_fdr(labels, scores, fdr)
    called = scores >= threshold
    achieved = float(np.mean(labels[called] == 0)) if called.any() else 0.0
    result = {"model": variant, "target_fdr": fdr, "threshold": threshold, "validation_fdr": achieved,
              "validation_windows_called": int(called.sum()),
              "validation_recall": float(labels[called].sum() / max(labels.sum(), 1))}
    save_json(out, result)
    return result


def predict_chromosome(model_dir: str | os.PathLike, variant: str, fasta: str | os.PathLike,
                       chrom: str, out_dir: str | os.PathLike, *, length: int, flank: int = 0,
                       stride: int = 50, max_n_fraction: float = 0.5, threshold: float = 0.5,
                       chunk: int = 1 << 16, peaks: str | os.PathLike | None = None,
                       aliases: Mapping[str, str] | None = None,
                       rule: LabelRule = LabelRule()) -> dict:
    """Write ``<chrom>.bedGraph``, ``.bw``, ``.sites.bed``, ``.windows.npz`` and
    ``.metrics.json`` into ``out_dir``. Memory: the chromosome plus one chunk of windows."""
    from .train import predict_probabilities

    genome = Genome(fasta)
    sequence = genome.sequence(chrom)
    selection = select_windows(sequence, tile(len(sequence), length, stride), length, max_n_fraction,
                               name=f"{fasta}: {chrom}")
    starts = selection.starts
    model = _load(model_dir)
    rc = uses_reverse_complement(variant)
    scores = np.empty(len(starts), dtype=np.float32)
    done = 0
    for first in range(0, len(starts), chunk):
        part = starts[first:first + chunk]
        block = encode_windows(sequence, part, length, flank)
        scores[done:done + len(part)] = predict_probabilities(model, block, rc)
        done += len(part)
    out = Path(out_dir)
    save_npz(out / f"{chrom}.windows.npz", starts=starts, scores=scores, length=np.int64(length))
    track = mean_track(starts, length, scores)
    write_bedgraph(out / f"{chrom}.bedGraph", chrom, track)
    write_bigwig(out / f"{chrom}.bw", chrom, track, genome.sizes)
    sites = call_sites(starts, length, scores, threshold)
    write_sites(out / f"{chrom}.sites.bed", chrom, sites)
    metrics = {"chrom": chrom, "model": variant, "windows": int(len(starts)), "stride": stride,
               "skipped_windows": selection.dropped, "threshold": threshold, "sites": int(len(sites.starts))}
    if peaks:
        metrics.update(held_out_metrics(peaks, genome.sizes, chrom, starts, length, scores, sites,
                                        aliases, rule))
    save_json(out / f"{chrom}.metrics.json", metrics)
    log.info("%s: %d windows scored, %d sites", chrom, len(starts), len(sites.starts))
    return metrics


def held_out_metrics(peaks: str | os.PathLike, sizes: Mapping[str, int], chrom: str,
                     starts: np.ndarray, length: int, scores: np.ndarray, sites,
                     aliases: Mapping[str, str] | None, rule: LabelRule) -> dict:
    """ROC/PR AUC of the windows against the peaks, and the sites' precision and recall."""
    chrom_peaks = read_intervals(peaks, sizes, aliases, what="peaks").on(chrom)
    if not len(chrom_peaks):
        return {"peaks": 0, "note": "no peak on this chromosome: no metrics"}
    merged = merge_intervals(chrom_peaks.start, chrom_peaks.end, chrom)
    labels, _ = label_windows(starts, length, merged, np.sort(chrom_peaks.summit), rule)
    labels = labels.clip(0)
    site_hits_peak = overlap_bp(sites.starts, sites.ends, *merged) > 0
    peak_hit_by_site = overlap_bp(chrom_peaks.start, chrom_peaks.end, sites.starts, sites.ends) > 0
    return {"peaks": int(len(chrom_peaks)), "positive_windows": int(labels.sum()),
            "roc_auc": roc_auc(labels, scores), "pr_auc": average_precision(labels, scores),
            "site_precision": float(site_hits_peak.mean()) if len(site_hits_peak) else None,
            "site_recall": float(peak_hit_by_site.mean())}
