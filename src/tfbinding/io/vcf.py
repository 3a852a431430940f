"""VCF reading and writing for variant scoring: the SNVs of a VCF, and an annotated copy.

:func:`read_variants` reads the SNV, MNV and indel alleles (skipping symbolic and
non-ACGT alleles, and chromosomes the FASTA lacks, with counts by reason);
:func:`write_annotated_vcf` writes a bgzipped, tabix-indexed copy with the ``TFB_*`` INFO
fields. The scoring is :mod:`tfbinding.interpret.score_variants`'.
"""
from __future__ import annotations

import collections
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tfbinding.atomic import atomic_path
from tfbinding.errors import InputError
from tfbinding.text import check_line_value

log = logging.getLogger(__name__)
#: why an allele is not scored (counted in the summary)
SKIP_REASONS = ("symbolic", "no_alt", "non_acgt", "missing_chromosome")
#: the kinds of allele scored: one base, several of equal length, lengths that differ
VARIANT_KINDS = ("snv", "mnv", "indel")
#: a task's INFO fields, in the order of :data:`tfbinding.interpret.score_variants.SCORE_COLUMNS`
INFO_FIELDS = ("TFB_REF", "TFB_ALT", "TFB_DELTA", "TFB_LOG2OR", "TFB_DELTA_SD", "TFB_PVALUE",
               "TFB_QVALUE", "TFB_NULL_PCT")
#: the INFO fields given once per record (the others once per ALT)
PER_RECORD = frozenset({"TFB_REF"})
_MISMATCH_LINE = ('##INFO=<ID=TFB_REF_MISMATCH,Number=0,Type=Flag,Description="tfbinding: REF disagrees '
                  'with the FASTA; scored with the VCF REF">')


def info_suffixes(tasks: Sequence[str] = ("",)) -> list[str]:
    """Each task's INFO ID suffix: ``""`` for one unnamed task, else ``_<task>`` with the
    characters a VCF INFO ID may not hold (outside ``[A-Za-z0-9_.]``) as ``_``.

    Raises
    ------
    InputError
        Two tasks whose suffixes would coincide.
    """
    suffixes = [re.sub(r"[^A-Za-z0-9_.]", "_", f"_{task}") if task else "" for task in tasks]
    if len(set(suffixes)) != len(suffixes):
        raise InputError(f"tasks {list(tasks)} give the same VCF INFO IDs ({suffixes}); rename a task")
    return suffixes


def vcf_quoted(value: object, what: str) -> str:
    r"""``value`` for a quoted VCF header string: ``\\`` and ``"`` escaped (VCF 4.3, 1.4).

    Raises
    ------
    InputError
        A newline, tab or other control character (:func:`tfbinding.text.check_line_value`).
    """
    return check_line_value(value, what).replace("\\", "\\\\").replace('"', '\\"')


def info_lines(tasks: Sequence[str] = ("",)) -> list[str]:
    """The ``##INFO`` header lines of the annotated VCF, one set per task.

    Raises
    ------
    InputError
        A task name with a control character, or two that give the same INFO IDs.
    """
    lines = []
    for task, sfx in zip(tasks, info_suffixes(tasks)):
        what = f", task {vcf_quoted(task, 'task name')}" if task else ""
        lines += [
            (f'##INFO=<ID=TFB_REF{sfx},Number=1,Type=Float,Description="tfbinding: model probability of '
             f'the window centred on the variant, with REF{what}">'),
            (f'##INFO=<ID=TFB_ALT{sfx},Number=A,Type=Float,Description="tfbinding: model probability '
             f'with each ALT{what}">'),
            f'##INFO=<ID=TFB_DELTA{sfx},Number=A,Type=Float,Description="tfbinding: TFB_ALT{sfx} - TFB_REF{sfx}">',
            (f'##INFO=<ID=TFB_LOG2OR{sfx},Number=A,Type=Float,Description="tfbinding: log2 odds ratio, '
             f'ALT against REF{what}">'),
            (f'##INFO=<ID=TFB_DELTA_SD{sfx},Number=A,Type=Float,Description="tfbinding: standard '
             f'deviation of the delta over the models averaged (0 for one model){what}">'),
            (f'##INFO=<ID=TFB_PVALUE{sfx},Number=A,Type=Float,Description="tfbinding: empirical p-value '
             f'of |TFB_LOG2OR| against background SNVs of matched G+C{what}">'),
            (f'##INFO=<ID=TFB_QVALUE{sfx},Number=A,Type=Float,Description="tfbinding: Benjamini-Hochberg '
             f'q-value of TFB_PVALUE{sfx} over the VCF{what}">'),
            (f'##INFO=<ID=TFB_NULL_PCT{sfx},Number=A,Type=Float,Description="tfbinding: percentile of '
             f'|TFB_LOG2OR| among the matched background SNVs{what}">')]
    return lines + [_MISMATCH_LINE]
BASE_CODES = np.full(256, 4, dtype=np.int64)  # A C G T (any case) -> 0..3, anything else -> 4
for _index, _base in enumerate(b"ACGT"):
    BASE_CODES[_base] = BASE_CODES[_base + 32] = _index


@dataclass
class VariantTable:
    """The scored alleles of a VCF (SNVs, MNVs, indels), one row per (record, ALT), in the
    file's order.

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
        ``id`` is ``.`` when the VCF has none; REF and ALT as written (any case, the
        anchor base of an indel included).
    kind : numpy.ndarray of str
        ``snv``, ``mnv`` or ``indel`` (:data:`VARIANT_KINDS`).
    """

    record: np.ndarray
    allele: np.ndarray
    chrom: np.ndarray
    fasta_chrom: np.ndarray
    pos: np.ndarray
    id: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))

    def __len__(self) -> int:
        return len(self.pos)

    def take(self, rows: np.ndarray) -> "VariantTable":
        """The rows ``rows``, as a new table."""
        return VariantTable(*(getattr(self, name)[rows] for name in _TABLE_FIELDS))


#: the former name, from when only SNVs were scored
SnvTable = VariantTable
_TABLE_FIELDS = ("record", "allele", "chrom", "fasta_chrom", "pos", "id", "ref", "alt", "kind")


@dataclass
class VcfScan:
    """What one pass over a VCF found."""

    snvs: VariantTable
    records: int
    alleles: int
    skipped: dict[str, int]
    missing_chromosomes: dict[str, int]
    alts_per_record: list[int] = field(default_factory=list)
    contig_order: list[str] = field(default_factory=list)
    is_sorted: bool = True
    header: str = ""
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def variants(self) -> VariantTable:
        """The scored alleles (the same table as ``snvs``, its former name)."""
        return self.snvs


def _allele_kind(ref: str, alt: str | None) -> str:
    """The kind of a (REF, ALT) pair (:data:`VARIANT_KINDS`), or the reason it is skipped
    (:data:`SKIP_REASONS`).
    """
    if alt is None or alt == ".":
        return "no_alt"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*":
        return "symbolic"
    if not (ref + alt).isascii() or not ref or not alt or (BASE_CODES[np.frombuffer(
            (ref + alt).encode(), np.uint8)] == 4).any():
        return "non_acgt"
    if len(ref) != len(alt):
        return "indel"
    return "mnv" if len(ref) > 1 else "snv"


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


def _header_lines(vcf: str | os.PathLike) -> int:
    """How many header lines (``#``) the VCF file starts with: a record's file line is this
    plus its 1-based ordinal. Plain or (b)gzipped.
    """
    import gzip

    with open(vcf, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    count = 0
    with (gzip.open(vcf, "rb") if gzipped else open(vcf, "rb")) as handle:
        for line in handle:
            if not line.startswith(b"#"):
                break
            count += 1
    return count


def check_position(vcf: object, line: int, chrom: str, pos: int, size: int | None,
                   record_id: str | None = None) -> None:
    """Refuse a 1-based VCF ``pos`` below 1 or past ``size`` (the chromosome's length;
    None: the FASTA lacks the chromosome, so only ``pos < 1`` is checked).

    Raises
    ------
    InputError
        Naming the file, the line, the value, and what to do.
    """
    pos_text = f"POS {pos}" + (f" ({record_id})" if record_id and record_id != "." else "")
    if pos < 1:
        raise InputError(f"{vcf}, line {line}: {pos_text} on {chrom} is below 1 (VCF positions are "
                         "1-based: the first base is POS 1). Fix or drop the record")
    if size is not None and pos > size:
        raise InputError(f"{vcf}, line {line}: {pos_text} lies past the end of {chrom} ({size} bp). "
                         "Is the VCF for another assembly (or chrom_aliases mapping it to the wrong "
                         "chromosome)? Otherwise drop the record")


def read_variants(vcf: str | os.PathLike, sizes: Mapping[str, int],
                  aliases: Mapping[str, str] | None = None) -> VcfScan:
    """Read a VCF's records, split multi-allelic sites, keep the SNVs, MNVs and indels
    whose alleles are all A, C, G, T (any case), count the rest by reason.

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
        An unreadable VCF, a record that pysam cannot parse, a POS below 1 or past its
        chromosome's end (:func:`check_position`, any record kind), or no chromosome in
        common.
    """
    from tfbinding.io.bed import suggest_aliases
    from tfbinding.io.fasta import describe_names

    aliases = dict(aliases or {})
    columns: dict[str, list] = {key: [] for key in
                                _TABLE_FIELDS}
    skipped = collections.Counter({reason: 0 for reason in SKIP_REASONS})
    kinds = collections.Counter({kind: 0 for kind in VARIANT_KINDS})
    missing: collections.Counter = collections.Counter()
    alts_per_record: list[int] = []
    contig_order: list[str] = []
    is_sorted, last = True, ("", 0)
    alleles = 0
    with _open_vcf(vcf) as handle:
        first_line = _header_lines(vcf) + 1
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
                check_position(vcf, first_line + index, chrom, pos, sizes.get(fasta_chrom), record.id)
                for allele, alt in enumerate(alts):
                    kind = _allele_kind(ref, alt)
                    if kind in VARIANT_KINDS and fasta_chrom not in sizes:
                        kind = "missing_chromosome"
                        missing[chrom] += 1
                    if kind not in VARIANT_KINDS:
                        skipped[kind] += 1
                        continue
                    kinds[kind] += 1
                    for key, value in (("record", index), ("allele", allele), ("chrom", chrom),
                                       ("fasta_chrom", fasta_chrom), ("pos", pos),
                                       ("id", record.id or "."), ("ref", ref), ("alt", alt),
                                       ("kind", kind)):
                        columns[key].append(value)
        except InputError:
            raise
        except (OSError, ValueError) as err:
            raise InputError(f"{vcf}: cannot parse data record {len(alts_per_record) + 1} ({err}). "
                             "Check the file with 'bcftools view'") from err
        header = str(handle.header)  # with what htslib added for undeclared contigs and tags
    if missing and not columns["pos"]:
        names = set(missing)
        suggestion = suggest_aliases(names, set(sizes))
        raise InputError(f"{vcf}: no variant is on a chromosome of the FASTA: the VCF uses "
                         f"{describe_names(names)}; the FASTA has {describe_names(set(sizes))}. "
                         "Map the names with chrom_aliases"
                         + (f", e.g. {suggestion}" if suggestion else ""))
    if missing:
        log.warning("%s: %d variant(s) on chromosome(s) not in the FASTA are skipped: %s", vcf,
                    sum(missing.values()), describe_names(set(missing)))
    table = VariantTable(
        record=np.array(columns["record"], dtype=np.int64),
        allele=np.array(columns["allele"], dtype=np.int64),
        chrom=np.array(columns["chrom"], dtype=str), fasta_chrom=np.array(columns["fasta_chrom"], dtype=str),
        pos=np.array(columns["pos"], dtype=np.int64), id=np.array(columns["id"], dtype=str),
        ref=np.array(columns["ref"], dtype=str), alt=np.array(columns["alt"], dtype=str),
        kind=np.array(columns["kind"], dtype=str))
    return VcfScan(table, len(alts_per_record), alleles, dict(skipped), dict(missing),
                   alts_per_record, contig_order, is_sorted, header, dict(kinds))


#: the former name, from when only SNVs were kept
read_snvs = read_variants


def allele_codes(alleles: np.ndarray) -> np.ndarray:
    """0..3 for A, C, G, T (any case) of one-letter alleles."""
    return BASE_CODES[np.char.encode(alleles.astype(str), "ascii").view(np.uint8)] if len(alleles) \
        else np.zeros(0, np.int64)


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


@dataclass
class InfoField:
    """An INFO field of the annotated VCF besides the scores.

    Attributes
    ----------
    id : str
        The INFO ID (``TFB_...``).
    number : str
        ``"1"`` (the record's first scored allele gives it), ``"A"`` (one per ALT, ``.``
        where not scored) or ``"0"`` (a flag, set when any scored allele's value is
        truthy).
    type : str
        ``Float``, ``Integer``, ``String`` or ``Flag``.
    description : str
        Checked and quoted with :func:`vcf_quoted`.
    values : sequence
        One value per row of the table, already formatted (a flag's: bool); a String value
        is checked with :func:`tfbinding.text.check_line_value` and may hold none of
        ``,;=`` or a space.
    """

    id: str
    number: str
    type: str
    description: str
    values: Sequence

    def header_line(self) -> str:
        return (f'##INFO=<ID={self.id},Number={self.number},Type={self.type},'
                f'Description="{vcf_quoted(self.description, f"INFO {self.id} description")}">')

    def value(self, row: int) -> str:
        text = check_line_value(self.values[row], f"INFO {self.id} value", forbid=",;= ")
        return text if text else "."


def write_annotated_vcf(vcf: str | os.PathLike, scan: VcfScan, values: np.ndarray,
                        mismatch: np.ndarray, out_vcf: str | os.PathLike,
                        header_note: str = "", tasks: Sequence[str] = ("",),
                        extra: Sequence[InfoField] = ()) -> None:
    """Write a bgzipped, tabix-indexed copy of ``vcf`` with the scores as INFO fields.

    Records are copied as pysam formats them; the INFO column of scored records gets
    ``TFB_*`` fields (earlier ``TFB_*`` fields and header lines are replaced). The header
    is the one pysam held after reading every record, so it also defines the contigs and
    INFO tags the input used without declaring them. Unsorted input is sorted in memory
    (chromosomes in order of first appearance, then position), as tabix needs.
    ``out_vcf`` and ``out_vcf.tbi`` are renamed into place together, the index first.
    ``values`` is ``(n, F·T)``: each scored allele's :data:`INFO_FIELDS` (F of them), task
    by task (:func:`tfbinding.interpret.score_variants.score_columns`); a multi-task model's
    tasks each get their fields (:func:`info_lines`). ``extra`` are further fields (motif
    annotation, peaks, flags), :class:`InfoField`.
    """
    import pysam

    snvs = scan.snvs
    fields = [name + sfx for sfx in info_suffixes(tasks) for name in INFO_FIELDS]
    per_record = [name in PER_RECORD for sfx in info_suffixes(tasks) for name in INFO_FIELDS]
    starts = np.searchsorted(snvs.record, np.arange(scan.records + 1))
    header = [line for line in scan.header.splitlines() if not line.startswith("##INFO=<ID=TFB_")]
    header[-1:-1] = info_lines(tasks) + [field.header_line() for field in extra] \
        + ([header_note] if header_note else [])
    contig_rank = {name: rank for rank, name in enumerate(scan.contig_order)}
    buffered: list[tuple[int, int, str]] = []
    with atomic_path(out_vcf) as tmp_gz, atomic_path(f"{out_vcf}.tbi") as tmp_tbi:
        with _open_vcf(vcf) as handle, pysam.BGZFile(str(tmp_gz), "wb") as sink:
            sink.write(("\n".join(header) + "\n").encode())
            for index, record in enumerate(handle):
                low, high = starts[index], starts[index + 1]
                info = None
                if high > low:
                    alts = scan.alts_per_record[index]
                    # per field: REF once, the others one entry per ALT ('.' where not scored)
                    columns = [["."] * alts for _ in fields]
                    for row in range(low, high):
                        for column, value in enumerate(values[row]):
                            columns[column][snvs.allele[row]] = "." if np.isnan(value) else f"{value:.6g}"
                    info = {key: (columns[column][snvs.allele[low]] if per_record[column] else ",".join(items))
                            for column, (key, items) in enumerate(zip(fields, columns))}
                    for field_ in extra:
                        if field_.number == "0":
                            if any(field_.values[row] for row in range(low, high)):
                                info[field_.id] = ""
                        elif field_.number == "1":
                            info[field_.id] = field_.value(low)
                        else:
                            items = ["."] * alts
                            for row in range(low, high):
                                items[snvs.allele[row]] = field_.value(row)
                            info[field_.id] = ",".join(items)
                    if mismatch[low:high].any():
                        info["TFB_REF_MISMATCH"] = ""
                line = _annotate_line(str(record), info)
                if scan.is_sorted:
                    sink.write(line.encode())
                else:
                    buffered.append((contig_rank[record.contig], record.pos, line))
            buffered.sort(key=lambda item: item[:2])
            for _, _, line in buffered:
                sink.write(line.encode())
        pysam.tabix_index(str(tmp_gz), preset="vcf", force=True, index=str(tmp_tbi))
