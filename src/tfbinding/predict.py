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
from .genome import Genome
from .inference import load_model, predict_probabilities, require_sequence_only
from .intervals import overlap_bp
from .labels import LabelRule, label_windows
from .metrics import average_precision, roc_auc
from .options import uses_reverse_complement
from .onehot import encode_windows
from .tracks import call_sites, mean_track, write_bedgraph, write_bigwig, write_sites
from .windows import select_windows, tile

log = logging.getLogger(__name__)


def predict_chromosome(model_dir: str | os.PathLike, model_name: str, fasta: str | os.PathLike,
                       chrom: str, out_dir: str | os.PathLike, *, length: int, flank: int = 0,
                       stride: int = 50, max_n_fraction: float = 0.5, threshold: float = 0.5,
                       chunk: int = 1 << 16, peaks: str | os.PathLike | None = None,
                       aliases: Mapping[str, str] | None = None,
                       rule: LabelRule = LabelRule()) -> dict:
    """Score every window of a chromosome and write tracks, sites and metrics.

    Parameters
    ----------
    model_dir : path
        A trained model's folder.
    model_name : str
        Its name (decides reverse-complement averaging).
    fasta : path
        The prepared, indexed FASTA.
    chrom : str
    out_dir : path
        Receives ``<chrom>.bedGraph``, ``.bw``, ``.sites.narrowPeak``, ``.windows.npz`` and
        ``.metrics.json``.
    length, flank : int
        The model's window length and flank (its input is ``length + 2*flank``).
    stride : int, default 50
    max_n_fraction : float, default 0.5
        Windows with more non-ACGT bases are skipped (counted).
    threshold : float, default 0.5
        Site threshold (from ``calibrate``).
    chunk : int, default 65536
        Windows encoded and scored at a time: memory is the chromosome plus one chunk.
    peaks : path or None
        Peaks for held-out metrics (ROC/PR AUC, site precision and recall).
    aliases : mapping or None
        Peak chromosome name -> FASTA name.
    rule : LabelRule
        How windows are labelled from ``peaks``.

    Returns
    -------
    dict
        The metrics written to ``<chrom>.metrics.json``.
    """
    genome = Genome(fasta)
    sequence = genome.sequence(chrom)
    selection = select_windows(sequence, tile(len(sequence), length, stride), length, max_n_fraction,
                               name=f"{fasta}: {chrom}")
    starts = selection.starts
    model = load_model(model_dir)
    require_sequence_only(model, "genome-wide prediction")
    rc = uses_reverse_complement(model_name)
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
    write_sites(out / f"{chrom}.sites.narrowPeak", chrom, sites)
    metrics = {"chrom": chrom, "model": model_name, "windows": int(len(starts)), "stride": stride,
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
