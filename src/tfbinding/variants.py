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
* a position past its chromosome's end is an :class:`InputError` (another assembly?).
"""
from __future__ import annotations

import collections
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from .atomic import atomic_path, save_json
from .errors import InputError

log = logging.getLogger(__name__)

TSV_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "ref_score", "alt_score", "delta",
               "log2_odds_ratio", "flag")
SKIP_REASONS = ("indel", "mnv", "symbolic", "no_alt", "non_acgt", "missing_chromosome")
INFO_LINES = (
    '##INFO=<ID=TFB_REF,Number=1,Type=Float,Description="tfbinding: model probability of the '
    'window centred on the variant, with REF">',
    '##INFO=<ID=TFB_ALT,Number=A,Type=Float,Description="tfbinding: model probability with '
    'each ALT">',
    '##INFO=<ID=TFB_DELTA,Number=A,Type=Float,Description="tfbinding: TFB_ALT - TFB_REF">',
    '##INFO=<ID=TFB_LOG2OR,Number=A,Type=Float,Description="tfbinding: log2 odds ratio, ALT '
    'against REF">',
    '##INFO=<ID=TFB_REF_MISMATCH,Number=0,Type=Flag,Description="tfbinding: REF disagrees '
    'with the FASTA; scored with the VCF REF">',
)
_CODE = np.full(256, 4, dtype=np.int64)  # A C G T (any case) -> 0..3, anything else -> 4
for _index, _base in enumerate(b"ACGT"):
    _CODE[_base] = _CODE[_base + 32] = _index
_PROBABILITY_FLOOR = 1e-7
_CHUNK_BYTES = 1 << 26


@dataclass
class SnvTable:
    """The SNV alleles of a VCF, one row per (record, ALT), in the file's order.

    Attributes
    ----------
    record, allele : numpy.ndarray of int64
        The record's 0-based ordinal in the file, and the ALT's index in it.
    chrom : numpy.ndarray of str
        As named in the VCF.
    fasta_chrom : numpy.ndarray of str
        As named in the FASTA (through ``aliases``).
    pos : numpy.ndarray of int64
        1-based, as in the VCF.
    id, ref, alt : numpy.ndarray of str
        ``id`` is ``.`` when the VCF has none.
    """

    record: np.ndarray
    allele: np.ndarray
    chrom: np.ndarray
    fasta_chrom: np.ndarray
    pos: np.ndarray
    id: np.ndarray
    ref: np.ndarray
    alt: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class VcfScan:
    """What one pass over a VCF found."""

    snvs: SnvTable
    records: int
    alleles: int
    skipped: dict[str, int]
    missing_chromosomes: dict[str, int]
    alts_per_record: list[int] = field(default_factory=list)
    contig_order: list[str] = field(default_factory=list)
    is_sorted: bool = True
    header: str = ""


def _allele_kind(ref: str, alt: str | None) -> str:
    """``snv`` or the reason a (REF, ALT) pair is skipped."""
    if alt is None or alt == ".":
        return "no_alt"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*":
        return "symbolic"
    if len(ref) != len(alt):
        return "indel"
    if len(ref) > 1:
        return "mnv"
    if not (ref + alt).isascii() or _CODE[ord(ref)] == 4 or _CODE[ord(alt)] == 4:
        return "non_acgt"
    return "snv"


def _open_vcf(vcf: str | os.PathLike):
    import pysam

    path = Path(vcf)
    if not path.exists():
        raise InputError(f"{path}: the VCF does not exist. Check variants.vcf in the config")
    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable VCF ({err}). Give a plain VCF, or a bgzipped "
                         "one (bgzip, with a tabix index)") from err


def read_snvs(vcf: str | os.PathLike, sizes: Mapping[str, int],
              aliases: Mapping[str, str] | None = None) -> VcfScan:
    """Read a VCF's records, split multi-allelic sites, keep the SNVs, count the rest.

    Parameters
    ----------
    vcf : path
        Plain or bgzipped VCF (pysam ``VariantFile``).
    sizes : mapping
        The FASTA's chromosome sizes (``Genome.sizes``).
    aliases : mapping or None, default None
        Maps VCF chromosome names to the FASTA's (``{"22": "chr22"}``).

    Returns
    -------
    VcfScan

    Raises
    ------
    InputError
        An unreadable VCF, a record that pysam cannot parse, or no chromosome in common.
    """
    from .bedio import suggest_aliases
    from .genome import describe_names

    aliases = dict(aliases or {})
    columns: dict[str, list] = {key: [] for key in
                                ("record", "allele", "chrom", "fasta_chrom", "pos", "id", "ref", "alt")}
    skipped = collections.Counter({reason: 0 for reason in SKIP_REASONS})
    missing: collections.Counter = collections.Counter()
    alts_per_record: list[int] = []
    contig_order: list[str] = []
    is_sorted, last = True, ("", 0)
    alleles = 0
    with _open_vcf(vcf) as handle:
        try:
            for index, record in enumerate(handle):
                chrom, pos, ref = record.contig, int(record.pos), record.ref or ""
                alts = record.alts or (None,)
                alts_per_record.append(len(alts))
                alleles += len(alts)
                if chrom != last[0]:
                    if chrom in contig_order:
                        is_sorted = False
                    else:
                        contig_order.append(chrom)
                elif pos < last[1]:
                    is_sorted = False
                last = (chrom, pos)
                fasta_chrom = aliases.get(chrom, chrom)
                for allele, alt in enumerate(alts):
                    kind = _allele_kind(ref, alt)
                    if kind == "snv" and fasta_chrom not in sizes:
                        kind = "missing_chromosome"
                        missing[chrom] += 1
                    if kind != "snv":
                        skipped[kind] += 1
                        continue
                    for key, value in (("record", index), ("allele", allele), ("chrom", chrom),
                                       ("fasta_chrom", fasta_chrom), ("pos", pos),
                                       ("id", record.id or "."), ("ref", ref), ("alt", alt)):
                        columns[key].append(value)
        except (OSError, ValueError) as err:
            raise InputError(f"{vcf}: cannot parse data record {len(alts_per_record) + 1} ({err}). "
                             "Check the file with 'bcftools view'") from err
        header = str(handle.header)  # with what htslib added for undeclared contigs and tags
    if missing and not columns["pos"]:
        names = set(missing)
        suggestion = suggest_aliases(names, set(sizes))
        raise InputError(f"{vcf}: no SNV is on a chromosome of the FASTA: the VCF uses "
                         f"{describe_names(names)}; the FASTA has {describe_names(set(sizes))}. "
                         "Map the names with chrom_aliases"
                         + (f", e.g. {suggestion}" if suggestion else ""))
    if missing:
        log.warning("%s: %d SNV(s) on chromosome(s) not in the FASTA are skipped: %s", vcf,
                    sum(missing.values()), describe_names(set(missing)))
    table = SnvTable(
        record=np.array(columns["record"], dtype=np.int64),
        allele=np.array(columns["allele"], dtype=np.int64),
        chrom=np.array(columns["chrom"], dtype=str), fasta_chrom=np.array(columns["fasta_chrom"], dtype=str),
        pos=np.array(columns["pos"], dtype=np.int64), id=np.array(columns["id"], dtype=str),
        ref=np.array(columns["ref"], dtype=str), alt=np.array(columns["alt"], dtype=str))
    return VcfScan(table, len(alts_per_record), alleles, dict(skipped), dict(missing),
                   alts_per_record, contig_order, is_sorted, header)


def _codes(alleles: np.ndarray) -> np.ndarray:
    """0..3 for A, C, G, T (any case) of one-letter alleles."""
    return _CODE[np.char.encode(alleles.astype(str), "ascii").view(np.uint8)] if len(alleles) \
        else np.zeros(0, np.int64)


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
        codes[rows] = _CODE[sequence[snvs.pos[rows] - 1]]
    return codes != _codes(snvs.ref), np.array(list("ACGTN"))[codes]


def _describe(snvs: SnvTable, row: int) -> str:
    name = "" if snvs.id[row] == "." else f" ({snvs.id[row]})"
    return f"{snvs.chrom[row]}:{snvs.pos[row]}{name} {snvs.ref[row]}>{snvs.alt[row]}"


def score_snvs(model, genome, snvs: SnvTable, rc_average: bool = False,
               batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """REF and ALT probabilities of each SNV's centred window.

    Parameters
    ----------
    model : keras.Model
        Input ``(L, 4)``, one sigmoid output.
    genome : tfbinding.genome.Genome
    snvs : SnvTable
    rc_average : bool, default False
        Average each window's probability with its reverse complement's.
    batch_size : int, default 4096
        Windows per model call.

    Returns
    -------
    ref_score, alt_score : numpy.ndarray (n,) float32
    """
    from .onehot import centred_windows
    from .inference import predict_probabilities, require_sequence_only

    require_sequence_only(model, "variant scoring")
    length = int(model.input_shape[1])
    centre = length // 2
    eye = np.eye(4, dtype=np.uint8)
    ref_score = np.empty(len(snvs), dtype=np.float32)
    alt_score = np.empty(len(snvs), dtype=np.float32)
    ref_codes, alt_codes = _codes(snvs.ref), _codes(snvs.alt)
    per_chunk = max(1, _CHUNK_BYTES // (length * 4))
    for chrom in dict.fromkeys(snvs.fasta_chrom.tolist()):
        rows = np.flatnonzero(snvs.fasta_chrom == chrom)
        sequence = genome.sequence(chrom)
        # one REF window per (position, REF): shared by the ALTs of a multi-allelic site
        keys = (snvs.pos[rows] - 1) * 4 + ref_codes[rows]
        sites, inverse = np.unique(keys, return_inverse=True)
        site_pos, site_ref = sites // 4, sites % 4
        site_score = np.empty(len(sites), dtype=np.float32)
        for first in range(0, len(sites), per_chunk):
            part = slice(first, first + per_chunk)
            X = centred_windows(sequence, site_pos[part], length)
            X[:, centre] = eye[site_ref[part]]
            site_score[part] = predict_probabilities(model, X, rc_average, batch_size)
        ref_score[rows] = site_score[inverse]
        for first in range(0, len(rows), per_chunk):
            part = rows[first:first + per_chunk]
            X = centred_windows(sequence, snvs.pos[part] - 1, length)
            X[:, centre] = eye[alt_codes[part]]
            alt_score[part] = predict_probabilities(model, X, rc_average, batch_size)
    return ref_score, alt_score


def log2_odds_ratio(ref_score: np.ndarray, alt_score: np.ndarray) -> np.ndarray:
    """``log2(alt / (1 - alt)) - log2(ref / (1 - ref))``, scores clipped to [1e-7, 1 - 1e-7]."""
    ref = np.clip(np.asarray(ref_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    alt = np.clip(np.asarray(alt_score, np.float64), _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
    return np.log2(alt / (1 - alt)) - np.log2(ref / (1 - ref))


def write_table(snvs: SnvTable, ref_score: np.ndarray, alt_score: np.ndarray,
                mismatch: np.ndarray, path: str | os.PathLike) -> None:
    """Write the per-SNV table (:data:`TSV_COLUMNS`), atomically."""
    delta = alt_score.astype(np.float64) - ref_score
    odds = log2_odds_ratio(ref_score, alt_score)
    flag = np.where(mismatch, "ref_mismatch", ".")
    lines = ["\t".join(TSV_COLUMNS)]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t{rs:.6g}\t{as_:.6g}\t{d:.6g}\t{o:.6g}\t{f}"
              for c, p, i, r, a, rs, as_, d, o, f in zip(
                  snvs.chrom.tolist(), snvs.pos.tolist(), snvs.id.tolist(), snvs.ref.tolist(),
                  snvs.alt.tolist(), ref_score.tolist(), alt_score.tolist(), delta.tolist(),
                  odds.tolist(), flag.tolist(), strict=True)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


_TFB_FIELD = re.compile(r"^TFB_[A-Z0-9_]+(=|$)")


def _annotate_line(line: str, values: dict[str, str] | None) -> str:
    """The VCF data line with our INFO fields put in place of any earlier ones."""
    if values is None:
        return line
    fields = line.rstrip("\n").split("\t")
    kept = [] if fields[7] in (".", "") else [item for item in fields[7].split(";")
                                               if not _TFB_FIELD.match(item)]
    kept += [key if value == "" else f"{key}={value}" for key, value in values.items()]
    fields[7] = ";".join(kept) or "."
    return "\t".join(fields) + "\n"


def write_annotated_vcf(vcf: str | os.PathLike, scan: VcfScan, ref_score: np.ndarray,
                        alt_score: np.ndarray, mismatch: np.ndarray, out_vcf: str | os.PathLike,
                        header_note: str = "") -> None:
    """Write a bgzipped, tabix-indexed copy of ``vcf`` with the scores as INFO fields.

    Records are copied as pysam formats them; the INFO column of scored records gets
    ``TFB_*`` fields (earlier ``TFB_*`` fields and header lines are replaced). The header
    is the one pysam held after reading every record, so it also defines the contigs and
    INFO tags the input used without declaring them. Unsorted input is sorted in memory
    (chromosomes in order of first appearance, then position), as tabix needs.
    ``out_vcf`` and ``out_vcf.tbi`` are renamed into place together, the index first.
    """
    import pysam

    snvs = scan.snvs
    odds = log2_odds_ratio(ref_score, alt_score)
    delta = alt_score.astype(np.float64) - ref_score
    starts = np.searchsorted(snvs.record, np.arange(scan.records + 1))
    header = [line for line in scan.header.splitlines() if not line.startswith("##INFO=<ID=TFB_")]
    header[-1:-1] = list(INFO_LINES) + ([header_note] if header_note else [])
    contig_rank = {name: rank for rank, name in enumerate(scan.contig_order)}
    buffered: list[tuple[int, int, str]] = []
    with atomic_path(out_vcf) as tmp_gz, atomic_path(f"{out_vcf}.tbi") as tmp_tbi:
        with _open_vcf(vcf) as handle, pysam.BGZFile(str(tmp_gz), "wb") as sink:
            sink.write(("\n".join(header) + "\n").encode())
            for index, record in enumerate(handle):
                low, high = starts[index], starts[index + 1]
                values = None
                if high > low:
                    columns = {key: ["."] * scan.alts_per_record[index]
                               for key in ("TFB_ALT", "TFB_DELTA", "TFB_LOG2OR")}
                    for row in range(low, high):
                        allele = snvs.allele[row]
                        columns["TFB_ALT"][allele] = f"{alt_score[row]:.6g}"
                        columns["TFB_DELTA"][allele] = f"{delta[row]:.6g}"
                        columns["TFB_LOG2OR"][allele] = f"{odds[row]:.6g}"
                    values = {"TFB_REF": f"{ref_score[low]:.6g}",
                              **{key: ",".join(items) for key, items in columns.items()}}
                    if mismatch[low:high].any():
                        values["TFB_REF_MISMATCH"] = ""
                line = _annotate_line(str(record), values)
                if scan.is_sorted:
                    sink.write(line.encode())
                else:
                    buffered.append((contig_rank[record.contig], record.pos, line))
            buffered.sort(key=lambda item: item[:2])
            for _, _, line in buffered:
                sink.write(line.encode())
        pysam.tabix_index(str(tmp_gz), preset="vcf", force=True, index=str(tmp_tbi))


def score_vcf(model_dir: str | os.PathLike, vcf: str | os.PathLike, fasta: str | os.PathLike,
              out_tsv: str | os.PathLike, out_vcf: str | os.PathLike,
              out_summary: str | os.PathLike | None = None, *, rc_average: bool = False,
              allow_ref_mismatch: bool = False, aliases: Mapping[str, str] | None = None,
              batch_size: int = 4096, seed: int = 0, threads: int | None = None) -> dict:
    """Score every SNV of a VCF with a model; write the table, the annotated VCF, a summary.

    Parameters
    ----------
    model_dir : path
        A model folder holding ``model.keras`` (or the file itself).
    vcf : path
        Plain or bgzipped (+ tabix) VCF.
    fasta : path
        The prepared, indexed reference FASTA (:func:`tfbinding.genome.prepare_fasta`).
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

    Returns
    -------
    dict
        The summary (also written to ``out_summary``).

    Raises
    ------
    InputError
        REF mismatches (unless allowed), positions past a chromosome's end, no chromosome
        in common with the FASTA, an unreadable VCF or model.
    """
    from .genome import Genome
    from .inference import load_model

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
    scoring_started = time.perf_counter()
    ref_score, alt_score = score_snvs(model, genome, snvs, rc_average, batch_size)
    scoring_seconds = time.perf_counter() - scoring_started
    write_table(snvs, ref_score, alt_score, mismatch, out_tsv)
    note = (f"##tfbinding_variants=<model=\"{model_dir}\",rc_average={str(rc_average).lower()},"
            f"window={model.input_shape[1]},score=\"probability\">")
    write_annotated_vcf(vcf, scan, ref_score, alt_score, mismatch, out_vcf, note)
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
    if out_summary is None:
        out_summary = Path(out_tsv).with_suffix(".summary.json")
    save_json(out_summary, summary)
    log.info("%s: %d SNV allele(s) scored, %d skipped", vcf, len(snvs), sum(scan.skipped.values()))
    return summary
