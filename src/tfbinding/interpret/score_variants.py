"""Variant effects: score every SNV, MNV and indel of a VCF with a trained model (or the
mean of several: the folds of one model), REF against ALT, calibrated against a null.

Windows
-------
Each allele is scored in a window of the model's full input length ``L`` (flanks
included) centred on the allele's own midpoint in its haplotype
(:mod:`tfbinding.interpret.variant_windows` gives the rule exactly); for an SNV this is
the plain centred window, base ``POS - 1`` at row ``L // 2``. REF is the VCF's REF,
checked against the FASTA over all its bases (case-insensitive). Each window's
probability is averaged over **both strands** (``rc_average``) and over the **shifts**
``-k .. k`` bp (``shifts = k``; default 0), and over the models given (folds);
``delta = alt_score - ref_score`` of these means. With several models, ``delta_sd`` is the
standard deviation of the models' deltas and a variant whose delta has a different sign
in two models is flagged ``sign_disagree``.

Calibration
-----------
``null_size`` background SNVs drawn by the step itself (:mod:`tfbinding.interpret.variant_null`:
random positions, seeded, at least a window (plus the shifts) from every peak when peaks
are given, matched on the REF
window's G+C) are scored in the same way; each variant gets an empirical ``pvalue`` of
its |log2 odds ratio| (the change of the logit: |delta| in probability saturates, a site
broken in a window the model scores 0.99999 changes it by 0.02), the ``null_percentile``
of it and a Benjamini–Hochberg ``qvalue`` over the VCF. ``null_size = 0``: no null, those columns are ``nan`` (``.`` in the VCF).

Annotation
----------
With the factor's JASPAR matrix (``motif``): the relative score of its best match
overlapping the allele on REF and on ALT and whether the variant ``broken``/``created``/
leaves ``untouched`` a match (:mod:`tfbinding.interpret.variant_annotation`); with peaks,
whether it lies in one. With ``top > 0`` and ``logo_dir``: REF and ALT contribution logos
of the top variants (:mod:`tfbinding.interpret.variant_logos`).

Outputs (each written atomically)
---------------------------------
``<model>.tsv``
    ``chrom, pos, id, ref, alt, kind, ref_score, alt_score, delta, log2_odds_ratio,
    delta_sd, pvalue, qvalue, null_percentile, motif_ref, motif_alt, motif_effect,
    in_peak, flag``: one row per scored allele, in the VCF's order; ``pos`` is 1-based, as
    in the VCF; ``kind`` is ``snv``, ``mnv`` or ``indel``; ``log2_odds_ratio = log2(alt/(1-alt))
    - log2(ref/(1-ref))`` with scores clipped to ``[1e-7, 1 - 1e-7]``; ``motif_*`` and
    ``in_peak`` are ``.`` without a motif or peaks; ``flag`` is ``.`` or a comma-separated
    list of ``ref_mismatch`` (only with ``allow_ref_mismatch``) and ``sign_disagree``.
``<model>.vcf.gz`` (+ ``.tbi``)
    A bgzipped, tabix-indexed copy of the VCF (sorted if the input was not) with INFO
    ``TFB_REF`` (Number=1), ``TFB_ALT``, ``TFB_DELTA``, ``TFB_LOG2OR``, ``TFB_DELTA_SD``,
    ``TFB_PVALUE``, ``TFB_QVALUE``, ``TFB_NULL_PCT`` (Number=A, ``.`` for ALTs not scored),
    ``TFB_MOTIF_REF`` (Number=1), ``TFB_MOTIF_ALT``, ``TFB_MOTIF_EFFECT`` (Number=A, with a
    motif), the flags ``TFB_IN_PEAK`` (with peaks), ``TFB_SIGN_DISAGREE`` and
    ``TFB_REF_MISMATCH``; records with nothing scored are copied unchanged.
``<model>.summary.json``
    Records and alleles read, scored by kind, skipped by reason, the missing chromosomes
    with their counts, REF mismatches, the models, shifts, strands, the null (size, seed,
    strata, the quantiles of its |log2 odds ratio|), the logos, timing.

Multi-task and signal models
----------------------------
A multi-task model scores every task: the table has each score column as
``<column>_<task>`` (in the model's task order; the motif, peak and flag columns once),
and the VCF ``TFB_<FIELD>_<task>`` (a task name's characters outside ``[A-Za-z0-9_.]``
become ``_``); p-values and q-values are per task. A signal model reads its bigWigs over
the REF window's genome span (:mod:`tfbinding.io.bigwig`) and gives REF and ALT the same
signal: only the bases differ.

Bad input
---------
* a REF that disagrees with the FASTA (case-insensitive, every base) is an
  :class:`InputError` naming the variant(s), unless ``allow_ref_mismatch``: then the row is
  scored with the VCF's REF and flagged;
* multi-allelic sites are split, one row per ALT;
* skipped with a counted reason: ``symbolic`` (``<DEL>``, breakends, ``*``), ``no_alt`` (ALT
  ``.``), ``non_acgt`` (an N or IUPAC code in REF or ALT), ``missing_chromosome``;
* variants on a chromosome absent from the FASTA (after ``aliases``) are skipped, counted,
  and the chromosome named (with its count) in a warning and in the summary; when no
  variant's chromosome is in the FASTA, it is an :class:`InputError` listing both name sets
  and suggesting ``aliases``;
* a POS below 1 or past its chromosome's end (any record) is an :class:`InputError` naming
  the file's line and the value, before the REF check; a REF running past the end is one
  too;
* a VCF with a header and no records (or nothing scored) gives an empty table, a valid
  annotated VCF with its index, and a summary with ``scored: 0``.
"""
from __future__ import annotations

import logging
import os
import time
import weakref
from contextlib import nullcontext
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import atomic_path, save_json
from tfbinding.config import is_multi_task
from tfbinding.errors import InputError
from tfbinding.interpret.variant_windows import (
    allele_codes_padded,
    allele_window_codes,
    allele_windows,
    window_start,
)
from tfbinding.io.bigwig import SignalTracks, require_signals
from tfbinding.io.vcf import (
    BASE_CODES,
    InfoField,
    VariantTable,
    allele_codes,
    info_suffixes,
    read_variants,
    vcf_quoted,
    write_annotated_vcf,
)
from tfbinding.text import check_line_value

log = logging.getLogger(__name__)

#: a task's score columns, in this order (single-task: these names; task t: ``<name>_<t>``);
#: the INFO fields :data:`tfbinding.io.vcf.INFO_FIELDS` follow the same order
SCORE_COLUMNS = ("ref_score", "alt_score", "delta", "log2_odds_ratio", "delta_sd", "pvalue", "qvalue",
                 "null_percentile")
#: the annotation columns, once per row whatever the tasks
ANNOTATION_COLUMNS = ("motif_ref", "motif_alt", "motif_effect", "in_peak")
#: with discovered patterns (after ``motif_effect``) and with predicted sites (after ``in_peak``)
PATTERN_COLUMNS = ("pattern_ref", "pattern_alt", "pattern_effect")
SITE_COLUMNS = ("in_site",)


def annotation_columns(patterns: bool = False, sites: bool = False) -> tuple[str, ...]:
    """The annotation columns: :data:`ANNOTATION_COLUMNS`, with :data:`PATTERN_COLUMNS` and
    :data:`SITE_COLUMNS` when patterns and predicted sites annotate the variants.
    """
    return (*ANNOTATION_COLUMNS[:3], *(PATTERN_COLUMNS if patterns else ()), ANNOTATION_COLUMNS[3],
            *(SITE_COLUMNS if sites else ()))


def tsv_columns(tasks: Sequence[str] = ("",), patterns: bool = False, sites: bool = False) -> tuple[str, ...]:
    """The table's columns: :data:`SCORE_COLUMNS` once (one unnamed task), or
    ``<column>_<task>`` for each task in turn, between the variant's and the annotation's
    (:func:`annotation_columns`).

    Raises
    ------
    InputError
        A task name with a tab, newline or other control character.
    """
    for task in tasks:
        check_line_value(task, "task name")
    scores = [f"{column}_{task}" if task else column for task in tasks for column in SCORE_COLUMNS]
    return ("chrom", "pos", "id", "ref", "alt", "kind", *scores, *annotation_columns(patterns, sites), "flag")


TSV_COLUMNS = tsv_columns()
_PROBABILITY_FLOOR = 1e-7
_CHUNK_BYTES = 1 << 26


def check_reference(snvs: VariantTable, genome, vcf: object = "VCF") -> tuple[np.ndarray, np.ndarray]:
    """Compare each variant's REF (every base) with the FASTA, case-insensitively.

    Returns
    -------
    mismatch : numpy.ndarray of bool
        Where REF is not the FASTA's bases.
    fasta_bases : numpy.ndarray of str
        The FASTA's bases under each REF, uppercased (``N`` for any non-ACGT byte).

    Raises
    ------
    InputError
        When a REF runs past its chromosome's end.
    """
    mismatch = np.zeros(len(snvs), dtype=bool)
    fasta = np.empty(len(snvs), dtype=object)
    lengths = np.char.str_len(snvs.ref.astype(str)) if len(snvs) else np.zeros(0, np.int64)
    for chrom in dict.fromkeys(snvs.fasta_chrom.tolist()):
        rows = np.flatnonzero(snvs.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        outside = rows[snvs.pos[rows] - 1 + lengths[rows] > len(sequence)]
        if outside.size:
            row = outside[0]
            raise InputError(f"{vcf}: variant {_describe(snvs, row)} lies past the end of {chrom} "
                             f"({len(sequence)} bp); {outside.size} do. Is the VCF for another "
                             "assembly?")
        single = rows[lengths[rows] == 1]
        codes = BASE_CODES[sequence[snvs.pos[single] - 1]]
        mismatch[single] = codes != allele_codes(snvs.ref[single])
        fasta[single] = np.array(list("ACGTN"))[codes]
        for row in rows[lengths[rows] != 1]:
            p = snvs.pos[row] - 1
            codes = BASE_CODES[sequence[p:p + lengths[row]]]
            fasta[row] = "".join("ACGTN"[c] for c in codes)
            mismatch[row] = fasta[row] != snvs.ref[row].upper()
    return mismatch, fasta.astype(str) if len(snvs) else np.zeros(0, dtype=str)


def _describe(snvs: VariantTable, row: int) -> str:
    name = "" if snvs.id[row] == "." else f" ({snvs.id[row]})"
    return f"{snvs.chrom[row]}:{snvs.pos[row]}{name} {snvs.ref[row]}>{snvs.alt[row]}"


_ASCII = np.frombuffer(b"ACGTN", np.uint8)
#: models scanned before (:class:`tfbinding.genomewide.scan.Scanner`, or None: not scannable)
_SCANNERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _scanners(models, engine: str, signals) -> list | None:
    """One :class:`~tfbinding.genomewide.scan.Scanner` per model when the scan engine applies
    (``engine`` ``auto`` or ``scan``; no signal tracks; every model's trunk scans exactly),
    else None (per-window scoring).
    """
    if engine not in ("auto", "scan", "per_window"):
        raise InputError(f"engine {engine!r}: use auto, scan or per_window")
    if engine == "per_window" or signals:
        return None
    from tfbinding.genomewide.scan import Scanner, ScanUnsupported

    out = []
    for model in models:
        if model not in _SCANNERS:
            try:
                scanner = Scanner(model, chunk_bp=1 << 16)
                _SCANNERS[model] = scanner if scanner.plan.exact else None
            except ScanUnsupported as error:
                log.info("variant scoring per window: %s", error)
                _SCANNERS[model] = None
        if _SCANNERS[model] is None:
            if engine == "scan":
                raise InputError("engine scan: the model's trunk does not scan exactly; use auto")
            return None
        out.append(_SCANNERS[model])
    return out


def _scan_windows(scanners, codes: np.ndarray, length: int, shifts: int, rc_average: bool) -> np.ndarray:
    """Mean probability over the shifts ``-shifts .. shifts`` of each row of ``codes``
    ``(n, length + 2 shifts)`` (the window at shift ``s`` is ``codes[:, shifts + s:][:, :length]``):
    the rows laid end to end as one sequence and scanned once, so the bases the shifted
    windows share go through the convolutional trunk once. ``(K, n, T)`` float32.
    """
    n, width = codes.shape
    sequence = _ASCII[codes].ravel()
    starts = (np.arange(n, dtype=np.int64)[:, None] * width + np.arange(2 * shifts + 1)).ravel()
    out = []
    for scanner in scanners:
        p = scanner.scan(sequence, starts, 0, None, rc_average)
        out.append(p.reshape(n, 2 * shifts + 1, -1).mean(axis=1))
    return np.stack(out).astype(np.float32)


def score_alleles(models, genome, table: VariantTable, rc_average: bool = False, shifts: int = 0,
                  batch_size: int = 4096, signals: SignalTracks | None = None,
                  zeroed: dict[str, int] | None = None,
                  engine: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each model's REF and ALT probabilities of each allele's windows, averaged over the
    shifts ``-shifts .. shifts`` (and both strands when ``rc_average``).

    Parameters
    ----------
    models : keras.Model or sequence of them
        Input ``(L, 4 + S)``, one sigmoid output or T (a multi-task model); all alike.
    genome : tfbinding.io.fasta.Genome
    table : VariantTable
    rc_average : bool, default False
        Average each window's probability with its reverse complement's.
    shifts : int, default 0
        Also score each window moved ``1 .. shifts`` bp either way, and average.
    batch_size : int, default 4096
        Windows per model call.
    signals : SignalTracks or None, default None
        A signal model's bigWigs: read over the REF window's span, the same for REF and ALT.
    zeroed : dict or None, default None
        Receives the counts of signal bases read as zero (``signals.missing == "zero"``).
    engine : {"auto", "scan", "per_window"}, default "auto"
        ``scan``: each allele's ``L + 2·shifts`` bases are scanned once
        (:mod:`tfbinding.genomewide.scan`; ``improved``-type models without signals, equal to
        per-window scores within 1e-5); ``auto``: the scan where it applies, else per window.

    Returns
    -------
    ref_score, alt_score : numpy.ndarray (K, n, T) float32
        K models, T tasks.
    gc : numpy.ndarray (n,) float64
        G+C share of the A/C/G/T rows of each REF window at shift 0.
    """
    from tfbinding.models.inference import output_tasks, predict_probabilities

    models = list(models) if isinstance(models, (list, tuple)) else [models]
    for model in models:
        signals = require_signals(model, signals, "variant scoring")
    length = int(models[0].input_shape[1])
    shape = (len(models), len(table), output_tasks(models[0]))
    ref_score = np.zeros(shape, dtype=np.float32)
    alt_score = np.zeros(shape, dtype=np.float32)
    gc = np.full(len(table), np.nan)
    per_chunk = max(1, _CHUNK_BYTES // ((length + 2 * shifts) * (16 + 4 * len(signals or ()))))
    offsets = range(-int(shifts), int(shifts) + 1)
    scanners = _scanners(models, engine, signals)

    def predict(X, S):
        return np.stack([predict_probabilities(model, X, rc_average, batch_size, signals=S)
                         .reshape(len(X), -1) for model in models])

    def allele_scores(sequence, reader, pos0, ref_length, alleles):
        """(K, n, T) mean over the shifts, and the G+C of the shift-0 window."""
        if scanners is not None:
            codes = allele_window_codes(sequence, pos0, ref_length, alleles, length + 2 * shifts)
            middle = codes[:, shifts:shifts + length]
            acgt = (middle < 4).sum(axis=1)
            share = ((middle == 1) | (middle == 2)).sum(axis=1) / np.maximum(acgt, 1)
            return _scan_windows(scanners, codes, length, shifts, rc_average), share
        total = np.zeros((len(models), len(pos0), shape[2]), dtype=np.float32)
        share = None
        for shift in offsets:
            X = allele_windows(sequence, pos0, ref_length, alleles, length, shift)
            S = reader.read(window_start(pos0, ref_length, length, shift), length) if reader else None
            total += predict(X, S)
            if shift == 0:
                acgt = X.sum(axis=(1, 2))
                share = X[:, :, 1:3].sum(axis=(1, 2)) / np.maximum(acgt, 1)
        return total / len(offsets), share

    for chrom in dict.fromkeys(table.fasta_chrom.tolist()):
        rows = np.flatnonzero(table.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        with (signals.open(chrom, len(sequence)) if signals else nullcontext()) as reader:
            # one REF window per (position, REF): shared by the ALTs of a multi-allelic site
            keys: dict[tuple[int, str], int] = {}
            site_of = np.array([keys.setdefault((int(p), r.upper()), len(keys))
                                for p, r in zip(table.pos[rows].tolist(), table.ref[rows].tolist())],
                               dtype=np.int64)
            site_pos = np.array([p for p, _ in keys], dtype=np.int64) - 1
            site_rows = np.zeros(len(keys), np.int64)
            site_rows[site_of] = rows  # a row with each site's REF as written
            site_ref = list(table.ref[site_rows])
            site_score = np.zeros((len(models), len(keys), shape[2]), dtype=np.float32)
            site_gc = np.zeros(len(keys))
            for first in range(0, len(keys), per_chunk):
                part = slice(first, first + per_chunk)
                alleles = allele_codes_padded(site_ref[part])
                # the REF window's signal is read where the REF allele's window lies
                site_score[:, part], site_gc[part] = allele_scores(sequence, reader, site_pos[part],
                                                                   alleles[1], alleles)
            ref_score[:, rows] = site_score[:, site_of]
            gc[rows] = site_gc[site_of]
            for first in range(0, len(rows), per_chunk):
                part = rows[first:first + per_chunk]
                pos0 = table.pos[part] - 1
                ref_length = np.char.str_len(table.ref[part].astype(str))
                alleles = allele_codes_padded(list(table.alt[part]))
                alt_score[:, part] = allele_scores(sequence, reader, pos0, ref_length, alleles)[0]
            if reader and zeroed is not None:
                for key, count in reader.counts.items():
                    zeroed[key] = zeroed.get(key, 0) + count
    return ref_score, alt_score, gc


def score_snvs(model, genome, snvs: VariantTable, rc_average: bool = False,
               batch_size: int = 4096, signals: SignalTracks | None = None,
               zeroed: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """REF and ALT probabilities of one model, ``(n,)`` for one task or ``(n, T)``, no shift
    (:func:`score_alleles` for one model; kept for its callers).
    """
    ref, alt, _ = score_alleles(model, genome, snvs, rc_average, 0, batch_size, signals, zeroed)
    if ref.shape[2] == 1:
        return ref[0, :, 0], alt[0, :, 0]
    return ref[0], alt[0]


def log2_odds_ratio(ref_score: np.ndarray, alt_score: np.ndarray) -> np.ndarray:
    """``log2(alt / (1 - alt)) - log2(ref / (1 - ref))``, scores clipped to [1e-7, 1 - 1e-7]."""
    ref = np.clip(np.asarray(ref_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    alt = np.clip(np.asarray(alt_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    return np.log2(alt / (1 - alt)) - np.log2(ref / (1 - ref))


def _per_task(values: np.ndarray | None, n: int, tasks: int) -> np.ndarray:
    if values is None:
        return np.full((n, tasks), np.nan)
    return np.asarray(values, np.float64).reshape(n, tasks)


def score_columns(ref_score: np.ndarray, alt_score: np.ndarray, delta_sd: np.ndarray | None = None,
                  pvalue: np.ndarray | None = None, qvalue: np.ndarray | None = None,
                  percentile: np.ndarray | None = None) -> np.ndarray:
    """``(n, 8T)`` float64: each task's :data:`SCORE_COLUMNS`, task by task (NaN where a
    statistic is not given).
    """
    ref_score, alt_score = np.asarray(ref_score), np.asarray(alt_score)
    tasks = ref_score.shape[1] if ref_score.ndim == 2 else 1  # also for no variant at all
    n = len(ref_score)
    ref = ref_score.reshape(n, tasks).astype(np.float64)
    alt = alt_score.reshape(n, tasks).astype(np.float64)
    sd = np.zeros((n, tasks)) if delta_sd is None else _per_task(delta_sd, n, tasks)
    stacked = (ref, alt, alt - ref, log2_odds_ratio(ref, alt), sd, _per_task(pvalue, n, tasks),
               _per_task(qvalue, n, tasks), _per_task(percentile, n, tasks))
    return np.stack(stacked, axis=2).reshape(n, len(SCORE_COLUMNS) * tasks)


def write_table(snvs: VariantTable, values: np.ndarray, annotation: Mapping[str, Sequence[str]],
                flags: Sequence[str], path: str | os.PathLike, tasks: Sequence[str] = ("",)) -> None:
    """Write the per-allele table (:func:`tsv_columns` of ``tasks``), atomically.

    ``values`` is :func:`score_columns`' array; ``annotation`` maps each of
    :data:`ANNOTATION_COLUMNS` to one formatted value per row; ``flags`` one per row.
    """
    patterns, sites = PATTERN_COLUMNS[0] in annotation, SITE_COLUMNS[0] in annotation
    columns = tsv_columns(tasks, patterns, sites)
    extra = [annotation[c] for c in annotation_columns(patterns, sites)]
    lines = ["\t".join(columns)]
    for row, (c, p, i, r, a, k, scores, f) in enumerate(zip(
            snvs.chrom.tolist(), snvs.pos.tolist(), snvs.id.tolist(), snvs.ref.tolist(),
            snvs.alt.tolist(), snvs.kind.tolist(), values.tolist(), flags, strict=True)):
        lines.append("\t".join((c, str(p), i, r, a, k, *(f"{v:.6g}" for v in scores),
                                *(str(column[row]) for column in extra), f)))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def calibrate(stat: np.ndarray, gc: np.ndarray, null_stat: np.ndarray, null_gc: np.ndarray,
              bins: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """p-values, q-values and percentiles of ``stat`` ``(n, T)`` against the null ``(m, T)``,
    matched on G+C (:mod:`tfbinding.interpret.variant_null`); also the strata's edges.
    """
    from tfbinding.interpret.variant_null import benjamini_hochberg, empirical_pvalues, strata_edges, stratum

    edges = strata_edges(null_gc, bins)
    strata, null_strata = stratum(gc, edges), stratum(null_gc, edges)
    pvalue = np.full(stat.shape, np.nan)
    percentile = np.full(stat.shape, np.nan)
    qvalue = np.full(stat.shape, np.nan)
    for task in range(stat.shape[1]):
        pvalue[:, task], percentile[:, task] = empirical_pvalues(stat[:, task], null_stat[:, task],
                                                                 strata, null_strata)
        qvalue[:, task] = benjamini_hochberg(pvalue[:, task])
    return pvalue, qvalue, percentile, edges


def _fmt(value: float, digits: int = 4) -> str:
    return "." if np.isnan(value) else f"{value:.{digits}g}"


def score_vcf(model_dir, vcf: str | os.PathLike, fasta: str | os.PathLike,
              out_tsv: str | os.PathLike, out_vcf: str | os.PathLike,
              out_summary: str | os.PathLike | None = None, *, rc_average: bool = False,
              allow_ref_mismatch: bool = False, aliases: Mapping[str, str] | None = None,
              batch_size: int = 4096, seed: int = 0, threads: int | None = None,
              signals: SignalTracks | None = None, tasks: Sequence[str] | None = None,
              shifts: int = 0, null_size: int = 0, null_seed: int = 0,
              peaks: str | os.PathLike | None = None, motif: str | os.PathLike | None = None,
              top: int = 0, logo_dir: str | os.PathLike | None = None,
              patterns: Sequence[str | os.PathLike] | None = None,
              sites: str | os.PathLike | None = None, sites_chromosomes: Sequence[str] | None = None,
              engine: str = "auto") -> dict:
    """Score every SNV, MNV and indel of a VCF; write the table, the annotated VCF, a summary
    (and logos).

    Parameters
    ----------
    model_dir : path or sequence of paths
        A model folder holding ``model.keras`` (or the file itself); several (the folds of
        one model): their probabilities are averaged.
    vcf : path
        Plain or bgzipped (+ tabix) VCF.
    fasta : path
        The prepared, indexed reference FASTA (:func:`tfbinding.data.prepare_genome.prepare_fasta`).
    out_tsv : path
        ``results/<name>/variants/<model>.tsv``.
    out_vcf : path
        ``results/<name>/variants/<model>.vcf.gz``; its index is ``out_vcf + ".tbi"``.
    out_summary : path or None, default None
        JSON summary; None: ``out_tsv`` with ``.summary.json`` in place of ``.tsv``.
    rc_average : bool, default False
        Average both strands.
    allow_ref_mismatch : bool, default False
        Score (and flag) variants whose REF disagrees with the FASTA instead of failing.
    aliases : mapping or None, default None
        VCF chromosome name → FASTA name (also for ``peaks``).
    batch_size : int, default 4096
        Windows per model call.
    seed, threads : int, int or None
        TensorFlow's seed and intra-op threads.
    signals : SignalTracks or None, default None
        A signal model's bigWigs (required for such a model).
    tasks : sequence of str or None, default None
        A multi-task model's task names (default: its ``training.json``'s).
    shifts : int, default 0
        Average over windows moved ``-shifts .. shifts`` bp.
    null_size : int, default 0
        Background SNVs of the null; 0: no p-values.
    null_seed : int, default 0
        Seeds the null's draw.
    peaks : path or None, default None
        BED/narrowPeak: the null is drawn away from them, and ``in_peak`` says whether each
        variant overlaps one.
    motif : path or None, default None
        The factor's JASPAR count matrix, for ``motif_ref``, ``motif_alt``, ``motif_effect``.
    top : int, default 0
        Contribution logos of this many top variants, into ``logo_dir``.
    logo_dir : path or None, default None
    patterns : sequence of paths or None, default None
        ``patterns.npz`` of discover_motifs (one per task): ``pattern_ref``, ``pattern_alt``,
        ``pattern_effect`` columns.
    sites : path or None, default None
        The predict step's sites (narrowPeak): the ``in_site`` column.
    sites_chromosomes : sequence of str or None, default None
        The chromosomes the prediction covered (FASTA names; None: all); ``in_site`` is
        ``.`` elsewhere.
    engine : {"auto", "scan", "per_window"}, default "auto"
        How windows are scored (:func:`score_alleles`).

    Returns
    -------
    dict
        The summary (also written to ``out_summary``).

    Raises
    ------
    InputError
        REF mismatches (unless allowed), positions past a chromosome's end, no chromosome
        in common with the FASTA, an unreadable VCF or model, models that differ in shape,
        signal tracks that do not fit the model, a chromosome a bigWig lacks (unless
        ``signals.missing == "zero"``), a null that cannot be drawn.
    """
    from tfbinding.io.fasta import Genome
    from tfbinding.models.inference import load_model, task_names

    started = time.perf_counter()
    model_dirs = [model_dir] if isinstance(model_dir, (str, os.PathLike)) else list(model_dir)
    if not model_dirs:
        raise InputError("score_vcf needs at least one model folder")
    if shifts < 0 or null_size < 0 or top < 0:
        raise InputError(f"shifts ({shifts}), null_size ({null_size}) and top ({top}) must be >= 0")
    genome = Genome(fasta)
    scan = read_variants(vcf, genome.sizes, aliases)
    snvs = scan.snvs
    mismatch, fasta_base = check_reference(snvs, genome, vcf)
    if mismatch.any() and not allow_ref_mismatch:
        rows = np.flatnonzero(mismatch)
        shown = "; ".join(f"{_describe(snvs, row)}: the FASTA has {fasta_base[row]}"
                          for row in rows[:3])
        raise InputError(f"{vcf}: REF disagrees with the FASTA at {rows.size} variant(s): {shown}"
                         f"{' …' if rows.size > 3 else ''}. Is the VCF for another assembly? To "
                         "score them anyway (with the VCF's REF, flagged), set allow_ref_mismatch")
    models = [load_model(folder, seed=seed, threads=threads) for folder in model_dirs]
    shapes = {(tuple(m.input_shape[1:]), tuple(m.output_shape[1:])) for m in models}
    if len(shapes) > 1:
        raise InputError(f"the models differ in input or outputs ({sorted(shapes)}): "
                         f"{', '.join(map(str, model_dirs))}. Give the folds of one model")
    names = task_names(models[0], model_dirs[0], tasks)
    info_suffixes(names)  # task names that clash in the VCF fail before the scoring
    length = int(models[0].input_shape[1])
    peak_table = None
    if peaks:
        from tfbinding.interpret.variant_annotation import read_peaks
        peak_table = read_peaks(peaks, genome.sizes, aliases)

    scoring_started = time.perf_counter()
    zeroed: dict[str, int] = {}
    ref_k, alt_k, gc = score_alleles(models, genome, snvs, rc_average, shifts, batch_size, signals, zeroed,
                                    engine)
    ref_score, alt_score = ref_k.mean(axis=0), alt_k.mean(axis=0)
    member_delta = alt_k.astype(np.float64) - ref_k
    delta_sd = member_delta.std(axis=0)
    disagree = ((member_delta > 0).any(axis=0) & (member_delta < 0).any(axis=0)).any(axis=1) \
        if len(models) > 1 else np.zeros(len(snvs), bool)
    # the null's statistic: |log2 odds ratio| (probabilities saturate near 0 and 1)
    stat = np.abs(log2_odds_ratio(ref_score, alt_score))
    null_info: dict = {"size": int(null_size), "seed": int(null_seed)}
    pvalue = qvalue = percentile = None
    if null_size and len(snvs):
        from tfbinding.interpret.variant_null import draw_background_snvs
        null = draw_background_snvs(genome, list(dict.fromkeys(snvs.fasta_chrom.tolist())), null_size,
                                    length + 2 * shifts, np.random.default_rng(null_seed), peak_table,
                                    margin=length + shifts)
        null_ref, null_alt, null_gc = score_alleles(models, genome, null, rc_average, shifts, batch_size,
                                                    signals, engine=engine)
        null_stat = np.abs(log2_odds_ratio(null_ref.mean(axis=0), null_alt.mean(axis=0)))
        pvalue, qvalue, percentile, edges = calibrate(stat, gc, null_stat, null_gc)
        null_info.update({
            "drawn_from": sorted(set(null.fasta_chrom.tolist())), "away_from_peaks": peak_table is not None,
            "matched_on": "G+C of the REF window",
            "statistic": "|log2 odds ratio|", "strata": len(edges) + 1,
            "gc_edges": [round(float(e), 4) for e in edges],
            "abs_log2_odds_ratio_quantiles": {f"q{int(q * 1000) / 10:g}": [float(v) for v in np.quantile(null_stat, q, axis=0)]
                                    for q in (0.5, 0.9, 0.99)}})
    scoring_seconds = time.perf_counter() - scoring_started

    annotation = {column: ["."] * len(snvs) for column in ANNOTATION_COLUMNS}
    extra: list[InfoField] = []
    motif_info = None
    if motif:
        from tfbinding.interpret.variant_annotation import (
            MATCH_PVALUE,
            annotate_motif,
            read_motif,
            score_threshold,
        )
        motif_name, pwm = read_motif(motif)
        threshold = score_threshold(pwm)
        motif_ref, motif_alt, effect = annotate_motif(genome, snvs, pwm, threshold)
        annotation["motif_ref"] = [f"{v:.3f}" for v in motif_ref]
        annotation["motif_alt"] = [f"{v:.3f}" for v in motif_alt]
        annotation["motif_effect"] = effect.tolist()
        quoted = check_line_value(motif_name, "motif name")
        extra += [
            InfoField("TFB_MOTIF_REF", "1", "Float", f"tfbinding: score (bits) of the best match of "
                      f"{quoted} overlapping REF", annotation["motif_ref"]),
            InfoField("TFB_MOTIF_ALT", "A", "Float", f"tfbinding: score (bits) of the best match of "
                      f"{quoted} overlapping each ALT", annotation["motif_alt"]),
            InfoField("TFB_MOTIF_EFFECT", "A", "String", "tfbinding: broken (REF matches and ALT not), "
                      f"created (ALT matches and REF not) or untouched; a match scores >= {threshold:.2f} "
                      f"bits (p = {MATCH_PVALUE:g} under a uniform background)", annotation["motif_effect"])]
        motif_info = {"name": motif_name, "threshold_bits": round(threshold, 3), "match_pvalue": MATCH_PVALUE,
                      "broken": int((effect == "broken").sum()), "created": int((effect == "created").sum())}
    pattern_info = None
    if patterns:
        from tfbinding.interpret.variant_annotation import annotate_patterns
        from tfbinding.interpret.variant_annotation import read_patterns as read_pattern_files
        found = read_pattern_files(patterns)
        p_ref, p_alt, p_effect, p_thresholds = annotate_patterns(genome, snvs, found)
        join = (lambda values, sep: sep.join(values) if len(values) else ".")
        for column, values in (("pattern_ref", p_ref), ("pattern_alt", p_alt)):
            annotation[column] = [join([f"{v:.3f}" for v in row], ",") for row in values]
        annotation["pattern_effect"] = [join(list(row), ",") for row in p_effect]
        quoted = check_line_value(",".join(name for name, _ in found) or "none", "pattern names")
        for field, column, number, what in (("TFB_PATTERN_REF", "pattern_ref", "1", "REF"),
                                            ("TFB_PATTERN_ALT", "pattern_alt", "A", "each ALT")):
            extra.append(InfoField(field, number, "String", f"tfbinding: scores (bits) of the best match of "
                                   f"each discovered pattern ({quoted}) overlapping {what}, separated by |",
                                   [v.replace(",", "|") for v in annotation[column]]))
        extra.append(InfoField("TFB_PATTERN_EFFECT", "A", "String", "tfbinding: broken, created or untouched "
                               f"for each discovered pattern ({quoted}), separated by |; a match scores at "
                               "p = 1e-4 under a uniform background",
                               [v.replace(",", "|") for v in annotation["pattern_effect"]]))
        pattern_info = [{"name": name, "width": int(len(pwm)), "threshold_bits": round(t, 3),
                         "broken": int((p_effect[:, k] == "broken").sum()),
                         "created": int((p_effect[:, k] == "created").sum())}
                        for k, ((name, pwm), t) in enumerate(zip(found, p_thresholds))]
    if peak_table is not None:
        from tfbinding.interpret.variant_annotation import in_peaks
        inside = in_peaks(snvs, peak_table)
        annotation["in_peak"] = inside.astype(int).astype(str).tolist()
        extra.append(InfoField("TFB_IN_PEAK", "0", "Flag", "tfbinding: the REF bases overlap a peak",
                               inside.tolist()))
    site_info = None
    if sites:
        from tfbinding.interpret.variant_annotation import in_sites, read_peaks
        covered = None if sites_chromosomes is None else [(aliases or {}).get(c, c) for c in sites_chromosomes]
        site_flags = in_sites(snvs, read_peaks(sites, genome.sizes, aliases), covered)
        annotation["in_site"] = site_flags.tolist()
        extra.append(InfoField("TFB_IN_SITE", "0", "Flag", "tfbinding: the REF bases overlap a site the "
                               "predict step called", (site_flags == "1").tolist()))
        site_info = {"sites": str(sites), "chromosomes": list(covered) if covered is not None else None,
                     "in_site": int((site_flags == "1").sum()), "not_covered": int((site_flags == ".").sum())}
    extra.append(InfoField("TFB_SIGN_DISAGREE", "0", "Flag", "tfbinding: the models averaged give deltas "
                           "of different signs", disagree.tolist()))
    flags = [",".join(f for f, on in (("ref_mismatch", m), ("sign_disagree", d)) if on) or "."
             for m, d in zip(mismatch.tolist(), disagree.tolist())]

    tasks_n = ref_score.shape[1]
    squeeze = (lambda a: a[:, 0]) if tasks_n == 1 else (lambda a: a)
    values = score_columns(squeeze(ref_score), squeeze(alt_score), delta_sd, pvalue, qvalue, percentile)
    write_table(snvs, values, annotation, flags, out_tsv, names)
    quoted = {"model": vcf_quoted(",".join(map(str, model_dirs)), "model path"),
              "tasks": vcf_quoted(",".join(names), "task names"),
              "signals": vcf_quoted(",".join(map(str, signals.names or signals.bigwigs)), "signal names")
              if signals else ""}
    note = (f"##tfbinding_variants=<model=\"{quoted['model']}\",rc_average={str(rc_average).lower()},"
            f"window={length},shifts={shifts},null_size={null_size},null_seed={null_seed},"
            f"centring=\"allele midpoint\",score=\"probability\""
            + (f",tasks=\"{quoted['tasks']}\"" if is_multi_task(names) else "")
            + (f",signals=\"{quoted['signals']}\"" if signals else "") + ">")
    write_annotated_vcf(vcf, scan, values, mismatch, out_vcf, note, names, extra)

    logos: list[dict] = []
    if top and logo_dir is not None:
        from tfbinding.interpret.variant_logos import plot_variant_logos, top_rows
        delta = alt_score[:, 0].astype(np.float64) - ref_score[:, 0]
        rows = top_rows(stat[:, 0], pvalue[:, 0] if pvalue is not None else np.full(len(snvs), np.nan), top)
        labels = [f"delta {delta[r]:+.3f}" + (f", p {pvalue[r, 0]:.2g}, q {qvalue[r, 0]:.2g}"
                                              if pvalue is not None else "")
                  + (f", motif {annotation['motif_effect'][r]}" if motif else "") for r in rows]
        logos = plot_variant_logos(models, genome, snvs, rows, logo_dir, rc_average, labels=labels)
    elif logo_dir is not None:
        from tfbinding.interpret.variant_logos import plot_variant_logos
        logos = plot_variant_logos(models, genome, snvs, np.zeros(0, np.int64), logo_dir, rc_average)

    summary = {
        "vcf": str(vcf), "models": [str(m) for m in model_dirs], "model": str(model_dirs[0]),
        "fasta": str(fasta), "rc_average": rc_average, "shifts": int(shifts), "window": length,
        "centring": "each allele's midpoint in its haplotype at row window // 2",
        "records": scan.records, "alleles": scan.alleles,
        "scored": int(len(snvs)), "kinds": scan.kinds, "skipped": scan.skipped,
        "missing_chromosomes": scan.missing_chromosomes,
        "ref_mismatches": int(mismatch.sum()), "allow_ref_mismatch": allow_ref_mismatch,
        "sign_disagreements": int(disagree.sum()), "null": null_info,
        "motif": motif_info, "patterns": pattern_info, "peaks": str(peaks) if peaks else None,
        "predicted_sites": site_info, "engine": "scan" if _scanners(models, engine, signals) else "per_window",
        "logos": [item["png"] for item in logos],
        "input_sorted": scan.is_sorted, "seconds": round(time.perf_counter() - started, 3),
        "scoring_seconds": round(scoring_seconds, 3),
        "variants_per_second": round(len(snvs) / scoring_seconds, 1) if scoring_seconds else None,
    }
    if qvalue is not None:
        summary["significant_q05"] = int((qvalue[:, 0] < 0.05).sum())
    if is_multi_task(names):
        summary["tasks"] = names
    if signals:
        summary["signals"] = {"bigwigs": list(signals.bigwigs), "transforms": list(signals.transforms),
                              "missing": signals.missing, "zeroed": zeroed}
    if out_summary is None:
        out_summary = Path(out_tsv).with_suffix(".summary.json")
    save_json(out_summary, summary)
    log.info("%s: %d allele(s) scored (%s), %d skipped", vcf, len(snvs), scan.kinds,
             sum(scan.skipped.values()))
    return summary
