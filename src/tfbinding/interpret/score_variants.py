"""Variant effects: score every SNV of a VCF with a trained model, REF against ALT.

For each SNV the window is centred on it at the model's full input length ``L`` (flanks
included): 0-based position ``p = POS - 1`` sits at row ``L // 2`` of
``[p - L // 2, p - L // 2 + L)``; bases beyond a chromosome's end are all-zero rows, as
N is. The window is scored once with REF and once with ALT at the centre (averaged over
both strands when ``rc_average``), with the model's probability. Windows are encoded a
chromosome at a time, in chunks, and each site's REF window is scored once however many
ALTs it has.

Outputs (each written atomically)
---------------------------------
``<model>.tsv``
    ``chrom, pos, id, ref, alt, ref_score, alt_score, delta, log2_odds_ratio, flag``: one
    row per scored SNV allele, in the VCF's order; ``pos`` is 1-based, as in the VCF;
    ``delta = alt_score - ref_score``; ``log2_odds_ratio = log2(alt/(1-alt)) -
    log2(ref/(1-ref))`` with scores clipped to ``[1e-7, 1 - 1e-7]``; ``flag`` is ``.`` or
    ``ref_mismatch`` (only with ``allow_ref_mismatch``).
``<model>.vcf.gz`` (+ ``.tbi``)
    A bgzipped, tabix-indexed copy of the VCF (sorted if the input was not) with INFO
    ``TFB_REF`` (Number=1), ``TFB_ALT``, ``TFB_DELTA``, ``TFB_LOG2OR`` (Number=A, ``.``
    for ALTs not scored) and the flag ``TFB_REF_MISMATCH`` on scored records; records
    with nothing scored are copied unchanged.
``<model>.summary.json``
    Records and alleles read, scored, skipped by reason, the missing chromosomes with
    their counts, REF mismatches, timing.

Multi-task and signal models
----------------------------
A multi-task model scores every task: the table has ``ref_score_<task>``,
``alt_score_<task>``, ``delta_<task>`` and ``log2_odds_ratio_<task>`` for each task (in
the model's task order) in place of the four single-task columns, and the VCF
``TFB_REF_<task>``, ``TFB_ALT_<task>``, ``TFB_DELTA_<task>`` and ``TFB_LOG2OR_<task>``
(a task name's characters outside ``[A-Za-z0-9_.]`` become ``_``). A signal model reads
its bigWigs over each window (:mod:`tfbinding.io.bigwig`) and gives REF and ALT the
same signal: only the base at the centre differs.

Bad input
---------
* a REF that disagrees with the FASTA (case-insensitive) is an :class:`InputError`
  naming the variant(s), unless ``allow_ref_mismatch``: then the row is scored with the
  VCF's REF at the centre and flagged;
* multi-allelic sites are split, one row per ALT;
* skipped with a counted reason: ``indel`` (REF and ALT lengths differ), ``mnv`` (equal
  lengths > 1), ``symbolic`` (``<DEL>``, breakends, ``*``), ``no_alt`` (ALT ``.``),
  ``non_acgt`` (an N or IUPAC code in REF or ALT), ``missing_chromosome``;
* SNVs on a chromosome absent from the FASTA (after ``aliases``) are skipped, counted,
  and the chromosome named (with its count) in a warning and in the summary; when no
  SNV's chromosome is in the FASTA, it is an :class:`InputError` listing both name sets
  and suggesting ``aliases``;
* a POS below 1 or past its chromosome's end (any record, SNV or not) is an
  :class:`InputError` naming the file's line and the value, before the REF check;
* a VCF with a header and no records (or no SNV) gives an empty table, a valid annotated
  VCF with its index, and a summary with ``scored: 0``.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import atomic_path, save_json
from tfbinding.config import is_multi_task
from tfbinding.data.encoding import centred_windows
from tfbinding.errors import InputError
from tfbinding.io.bigwig import SignalTracks, require_signals
from tfbinding.io.vcf import (
    BASE_CODES,
    SnvTable,
    allele_codes,
    info_suffixes,
    read_snvs,
    vcf_quoted,
    write_annotated_vcf,
)
from tfbinding.text import check_line_value

log = logging.getLogger(__name__)

#: a task's score columns, in this order (single-task: these names; task t: ``<name>_<t>``)
SCORE_COLUMNS = ("ref_score", "alt_score", "delta", "log2_odds_ratio")


def tsv_columns(tasks: Sequence[str] = ("",)) -> tuple[str, ...]:
    """The table's columns: :data:`SCORE_COLUMNS` once (one unnamed task), or
    ``<column>_<task>`` for each task in turn.

    Raises
    ------
    InputError
        A task name with a tab, newline or other control character.
    """
    for task in tasks:
        check_line_value(task, "task name")
    scores = [f"{column}_{task}" if task else column for task in tasks for column in SCORE_COLUMNS]
    return ("chrom", "pos", "id", "ref", "alt", *scores, "flag")


TSV_COLUMNS = tsv_columns()
_PROBABILITY_FLOOR = 1e-7
_CHUNK_BYTES = 1 << 26


def check_reference(snvs: SnvTable, genome, vcf: object = "VCF") -> tuple[np.ndarray, np.ndarray]:
    """Compare each SNV's REF with the FASTA (case-insensitive).

    Returns
    -------
    mismatch : numpy.ndarray of bool
        Where REF is not the FASTA's base.
    fasta_base : numpy.ndarray of str
        The FASTA's base at each SNV, uppercased (``N`` for any non-ACGT byte).

    Raises
    ------
    InputError
        When a position lies past its chromosome's end.
    """
    codes = np.zeros(len(snvs), dtype=np.int64)
    for chrom in dict.fromkeys(snvs.fasta_chrom.tolist()):
        rows = np.flatnonzero(snvs.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        outside = rows[snvs.pos[rows] > len(sequence)]
        if outside.size:
            row = outside[0]
            raise InputError(f"{vcf}: variant {_describe(snvs, row)} lies past the end of {chrom} "
                             f"({len(sequence)} bp); {outside.size} do. Is the VCF for another "
                             "assembly?")
        codes[rows] = BASE_CODES[sequence[snvs.pos[rows] - 1]]
    return codes != allele_codes(snvs.ref), np.array(list("ACGTN"))[codes]


def _describe(snvs: SnvTable, row: int) -> str:
    name = "" if snvs.id[row] == "." else f" ({snvs.id[row]})"
    return f"{snvs.chrom[row]}:{snvs.pos[row]}{name} {snvs.ref[row]}>{snvs.alt[row]}"


def score_snvs(model, genome, snvs: SnvTable, rc_average: bool = False,
               batch_size: int = 4096, signals: SignalTracks | None = None,
               zeroed: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """REF and ALT probabilities of each SNV's centred window.

    Parameters
    ----------
    model : keras.Model
        Input ``(L, 4 + S)``, one sigmoid output or T (a multi-task model).
    genome : tfbinding.io.fasta.Genome
    snvs : SnvTable
    rc_average : bool, default False
        Average each window's probability with its reverse complement's.
    batch_size : int, default 4096
        Windows per model call.
    signals : SignalTracks or None, default None
        A signal model's bigWigs: read over each window, the same for REF and ALT.
    zeroed : dict or None, default None
        Receives the counts of signal bases read as zero (``signals.missing == "zero"``).

    Returns
    -------
    ref_score, alt_score : numpy.ndarray (n,) float32, or (n, T) for T tasks
    """
    from tfbinding.models.inference import output_tasks

    signals = require_signals(model, signals, "variant scoring")
    length = int(model.input_shape[1])
    shape = (len(snvs),) if output_tasks(model) == 1 else (len(snvs), output_tasks(model))
    ref_score = np.empty(shape, dtype=np.float32)
    alt_score = np.empty(shape, dtype=np.float32)
    ref_codes, alt_codes = allele_codes(snvs.ref), allele_codes(snvs.alt)
    per_chunk = max(1, _CHUNK_BYTES // (length * (4 + 4 * len(signals or ()))))
    for chrom in dict.fromkeys(snvs.fasta_chrom.tolist()):
        rows = np.flatnonzero(snvs.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        with (signals.open(chrom, len(sequence)) if signals else nullcontext()) as reader:
            score = partial(_score_centred, model, sequence, length, reader, rc_average, batch_size)
            # one REF window per (position, REF): shared by the ALTs of a multi-allelic site
            keys = (snvs.pos[rows] - 1) * 4 + ref_codes[rows]
            sites, inverse = np.unique(keys, return_inverse=True)
            site_pos, site_ref = sites // 4, sites % 4
            site_score = np.empty((len(sites),) + shape[1:], dtype=np.float32)
            for first in range(0, len(sites), per_chunk):
                part = slice(first, first + per_chunk)
                site_score[part] = score(site_pos[part], site_ref[part])
            ref_score[rows] = site_score[inverse]
            for first in range(0, len(rows), per_chunk):
                part = rows[first:first + per_chunk]
                alt_score[part] = score(snvs.pos[part] - 1, alt_codes[part])
            if reader and zeroed is not None:
                for key, count in reader.counts.items():
                    zeroed[key] = zeroed.get(key, 0) + count
    return ref_score, alt_score


def _score_centred(model, sequence: np.ndarray, length: int, reader, rc_average: bool, batch_size: int,
                   positions: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Probabilities of the windows centred on ``positions`` with base ``codes`` at the
    centre; a signal model's signal (``reader``) is read over the same windows.
    """
    from tfbinding.models.inference import predict_probabilities

    centre = length // 2
    X = centred_windows(sequence, positions, length)
    X[:, centre] = np.eye(4, dtype=np.uint8)[codes]
    S = reader.read(positions - centre, length) if reader else None
    return predict_probabilities(model, X, rc_average, batch_size, signals=S)


def log2_odds_ratio(ref_score: np.ndarray, alt_score: np.ndarray) -> np.ndarray:
    """``log2(alt / (1 - alt)) - log2(ref / (1 - ref))``, scores clipped to [1e-7, 1 - 1e-7]."""
    ref = np.clip(np.asarray(ref_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    alt = np.clip(np.asarray(alt_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    return np.log2(alt / (1 - alt)) - np.log2(ref / (1 - ref))


def score_columns(ref_score: np.ndarray, alt_score: np.ndarray) -> np.ndarray:
    """``(n, 4T)`` float64: each task's REF, ALT, delta and log2 odds ratio, task by task."""
    ref_score, alt_score = np.asarray(ref_score), np.asarray(alt_score)
    tasks = ref_score.shape[1] if ref_score.ndim == 2 else 1  # also for no SNV at all
    ref = ref_score.reshape(len(ref_score), tasks).astype(np.float64)
    alt = alt_score.reshape(len(alt_score), tasks).astype(np.float64)
    return np.stack((ref, alt, alt - ref, log2_odds_ratio(ref, alt)), axis=2).reshape(len(ref), 4 * tasks)


def write_table(snvs: SnvTable, ref_score: np.ndarray, alt_score: np.ndarray,
                mismatch: np.ndarray, path: str | os.PathLike, tasks: Sequence[str] = ("",)) -> None:
    """Write the per-SNV table (:func:`tsv_columns` of ``tasks``), atomically; scores are
    ``(n,)`` for one task, ``(n, T)`` for T.
    """
    values = score_columns(ref_score, alt_score)
    flag = np.where(mismatch, "ref_mismatch", ".")
    lines = ["\t".join(tsv_columns(tasks))]
    lines += ["\t".join((c, str(p), i, r, a, *(f"{v:.6g}" for v in row), f))
              for c, p, i, r, a, row, f in zip(
                  snvs.chrom.tolist(), snvs.pos.tolist(), snvs.id.tolist(), snvs.ref.tolist(),
                  snvs.alt.tolist(), values.tolist(), flag.tolist(), strict=True)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def score_vcf(model_dir: str | os.PathLike, vcf: str | os.PathLike, fasta: str | os.PathLike,
              out_tsv: str | os.PathLike, out_vcf: str | os.PathLike,
              out_summary: str | os.PathLike | None = None, *, rc_average: bool = False,
              allow_ref_mismatch: bool = False, aliases: Mapping[str, str] | None = None,
              batch_size: int = 4096, seed: int = 0, threads: int | None = None,
              signals: SignalTracks | None = None, tasks: Sequence[str] | None = None) -> dict:
    """Score every SNV of a VCF with a model; write the table, the annotated VCF, a summary.

    Parameters
    ----------
    model_dir : path
        A model folder holding ``model.keras`` (or the file itself).
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
        Average both strands (True for the ``improved`` model).
    allow_ref_mismatch : bool, default False
        Score (and flag) SNVs whose REF disagrees with the FASTA instead of failing.
    aliases : mapping or None, default None
        VCF chromosome name → FASTA name.
    batch_size : int, default 4096
        Windows per model call.
    seed, threads : int, int or None
        TensorFlow's seed and intra-op threads.
    signals : SignalTracks or None, default None
        A signal model's bigWigs (required for such a model).
    tasks : sequence of str or None, default None
        A multi-task model's task names (default: its ``training.json``'s).

    Returns
    -------
    dict
        The summary (also written to ``out_summary``).

    Raises
    ------
    InputError
        REF mismatches (unless allowed), positions past a chromosome's end, no chromosome
        in common with the FASTA, an unreadable VCF or model, signal tracks that do not
        fit the model, a chromosome a bigWig lacks (unless ``signals.missing == "zero"``).
    """
    from tfbinding.io.fasta import Genome
    from tfbinding.models.inference import load_model, task_names

    started = time.perf_counter()
    genome = Genome(fasta)
    scan = read_snvs(vcf, genome.sizes, aliases)
    snvs = scan.snvs
    mismatch, fasta_base = check_reference(snvs, genome, vcf)
    if mismatch.any() and not allow_ref_mismatch:
        rows = np.flatnonzero(mismatch)
        shown = "; ".join(f"{_describe(snvs, row)}: the FASTA has {fasta_base[row]}"
                          for row in rows[:3])
        raise InputError(f"{vcf}: REF disagrees with the FASTA at {rows.size} SNV(s): {shown}"
                         f"{' …' if rows.size > 3 else ''}. Is the VCF for another assembly? To "
                         "score them anyway (with the VCF's REF, flagged), set allow_ref_mismatch")
    model = load_model(model_dir, seed=seed, threads=threads)
    names = task_names(model, model_dir, tasks)
    info_suffixes(names)  # task names that clash in the VCF fail before the scoring
    scoring_started = time.perf_counter()
    zeroed: dict[str, int] = {}
    ref_score, alt_score = score_snvs(model, genome, snvs, rc_average, batch_size, signals, zeroed)
    scoring_seconds = time.perf_counter() - scoring_started
    write_table(snvs, ref_score, alt_score, mismatch, out_tsv, names)
    quoted = {"model": vcf_quoted(model_dir, "model path"),
              "tasks": vcf_quoted(",".join(names), "task names"),
              "signals": vcf_quoted(",".join(map(str, signals.names or signals.bigwigs)), "signal names")
              if signals else ""}
    note = (f"##tfbinding_variants=<model=\"{quoted['model']}\",rc_average={str(rc_average).lower()},"
            f"window={model.input_shape[1]},score=\"probability\""
            + (f",tasks=\"{quoted['tasks']}\"" if is_multi_task(names) else "")
            + (f",signals=\"{quoted['signals']}\"" if signals else "") + ">")
    write_annotated_vcf(vcf, scan, score_columns(ref_score, alt_score), mismatch, out_vcf, note, names)
    summary = {
        "vcf": str(vcf), "model": str(model_dir), "fasta": str(fasta), "rc_average": rc_average,
        "window": int(model.input_shape[1]), "records": scan.records, "alleles": scan.alleles,
        "scored": int(len(snvs)), "skipped": scan.skipped,
        "missing_chromosomes": scan.missing_chromosomes,
        "ref_mismatches": int(mismatch.sum()), "allow_ref_mismatch": allow_ref_mismatch,
        "input_sorted": scan.is_sorted, "seconds": round(time.perf_counter() - started, 3),
        "scoring_seconds": round(scoring_seconds, 3),
        "variants_per_second": round(len(snvs) / scoring_seconds, 1) if scoring_seconds else None,
    }
    if is_multi_task(names):
        summary["tasks"] = names
    if signals:
        summary["signals"] = {"bigwigs": list(signals.bigwigs), "transforms": list(signals.transforms),
                              "missing": signals.missing, "zeroed": zeroed}
    if out_summary is None:
        out_summary = Path(out_tsv).with_suffix(".summary.json")
    save_json(out_summary, summary)
    log.info("%s: %d SNV allele(s) scored, %d skipped", vcf, len(snvs), sum(scan.skipped.values()))
    return summary
