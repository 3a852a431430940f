"""Read BED3+/narrowPeak files (and the task tables that list them) strictly, and merge
intervals with bedtools.

Every problem is reported with the file, the 1-based line and the offending value.
Coordinates stay 0-based, half-open, exactly as BED stores them.
"""
from __future__ import annotations

import gzip
import logging
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

import numpy as np
import pybedtools

from tfbinding.errors import located
from tfbinding.io.fasta import compression_of, describe_names
from tfbinding.io.sources import is_url

log = logging.getLogger(__name__)

_SKIPPED_PREFIXES = ("#", "track", "browser")
_INTEGER = re.compile(r"[+-]?[0-9]+")
NO_SUMMIT = -1


@dataclass
class Intervals:
    """Intervals of one file, as parallel arrays (0-based, half-open)."""

    chrom: np.ndarray  # str
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    summit: np.ndarray  # int64, absolute position; the midpoint when the file has none
    line: np.ndarray  # int64, 1-based line in the source file
    source: str

    def __len__(self) -> int:
        return len(self.start)

    def on(self, chrom: str) -> "Intervals":
        """The intervals on ``chrom``, sorted by (start, end)."""
        rows = np.flatnonzero(self.chrom == chrom)
        rows = rows[np.lexsort((self.end[rows], self.start[rows]))]
        return Intervals(self.chrom[rows], self.start[rows], self.end[rows],
                         self.summit[rows], self.line[rows], self.source)


_BOM = b"\xef\xbb\xbf"
#: the largest coordinate kept (numpy's int64); no genome comes near it
MAX_COORDINATE = 2**63 - 1


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb") if compression_of(path) == "none" else gzip.open(path, "rb")


def read_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text without the line end) for each line of a plain or
    gzip text file.

    A UTF-8 byte-order mark (Excel and some Windows editors write one) is dropped with a
    warning. A byte that is not UTF-8 (a binary file), a NUL byte, or a truncated or
    corrupt gzip stream is an :class:`InputError` naming the file, the line and the value.
    """
    number = 0
    try:
        with _open_binary(path) as handle:
            for raw in handle:
                number += 1
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]
                    log.warning("%s starts with a UTF-8 byte-order mark (BOM); it was ignored", path)
                nul = raw.find(b"\0")
                if nul != -1:
                    raise located(path, number, f"holds a NUL byte (column {nul + 1})",
                                  f"Is it a binary file? Give the {what} as a BED text file")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    value = raw[err.start:err.end]
                    raise located(path, number, f"byte {value!r} (column {err.start + 1}) is not "
                                  f"UTF-8 text: {raw[max(0, err.start - 20):err.start + 20]!r}",
                                  f"Is it a binary file? Give the {what} as a BED text file "
                                  "(plain or gzip), saved as UTF-8 or ASCII") from None
                text = text.rstrip("\r\n")
                if "\r" in text:  # old Mac line ends (CR only): one line per CR
                    *lines, text = text.split("\r")
                    for line in lines:
                        yield number, line
                        number += 1
                yield number, text
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise located(path, number + 1 if number else None,
                      f"the gzip file is truncated or corrupt ({err})",
                      "Download or copy it again (gzip -t checks a file)") from None


def _fields(path: Path, what: str = "peaks") -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) for each data line; skip track/browser/# lines."""
    for number, text in read_lines(path, what):
        if not text.strip() or text.startswith(_SKIPPED_PREFIXES):
            continue
        yield number, (text.split("\t") if "\t" in text else text.split())


def _integer(path: Path, number: int, column: str, value: str) -> int:
    if not _INTEGER.fullmatch(value):  # int() would also take '1_000' and non-ASCII digits
        raise located(path, number, f"{column} is not an integer: {value!r}",
                      "BED coordinates are whole numbers, 0-based, half-open")
    number_value = int(value) if len(value) <= 20 else MAX_COORDINATE + 1  # int() refuses 4300+ digits
    if abs(number_value) > MAX_COORDINATE:
        shown = value if len(value) <= 40 else f"{value[:20]}…{value[-10:]} ({len(value)} digits)"
        raise located(path, number, f"{column} is too large: {shown}, above 2^63 - 1",
                      "No chromosome is that long; is the file corrupt or for another format?")
    return number_value


def suggest_aliases(names: set[str], reference: set[str]) -> dict[str, str]:
    """Guess a ``chrom_aliases`` mapping between UCSC-style and Ensembl-style names."""
    special = {"MT": "chrM", "chrM": "MT"}
    suggestion = {}
    for name in sorted(names):
        for candidate in (f"chr{name}", name[3:] if name.startswith("chr") else None,
                          special.get(name)):
            if candidate and candidate in reference:
                suggestion[name] = candidate
                break
    return suggestion


def read_intervals(path: str | os.PathLike, sizes: Mapping[str, int],
                   aliases: Mapping[str, str] | None = None, what: str = "peaks",
                   allow_past_end: bool = False) -> Intervals:
    """Parse a BED3+ or narrowPeak file (plain or gzip) and check it against ``sizes``.

    Parameters
    ----------
    path : the file; track, browser, ``#`` and blank lines are skipped.
    sizes : chromosome sizes of the reference (names as in the FASTA).
    aliases : maps a name used in the file to the FASTA's name (``{"22": "chr22"}``).
    what : what the file is, for messages ("peaks", "blacklist", "windows").
    allow_past_end : keep intervals that run past a chromosome's end (the caller drops
        and counts them) instead of failing.

    Raises
    ------
    InputError : missing columns, non-integer coordinates, start >= end, negative
        starts, a summit outside its peak, an interval past its chromosome's end, or no
        chromosome name in common with the FASTA.
    """
    path = Path(path)
    if not path.exists():
        raise located(path, None, f"the {what} file does not exist", "Check the config")
    aliases = dict(aliases or {})
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    summits: list[int] = []
    lines: list[int] = []
    for number, fields in _fields(path, what):
        if len(fields) < 3:
            raise located(path, number, f"expected at least 3 columns (chrom, start, end), found "
                          f"{len(fields)}: {fields!r}", f"Give the {what} as BED3+ or narrowPeak")
        start = _integer(path, number, "start (column 2)", fields[1])
        end = _integer(path, number, "end (column 3)", fields[2])
        if start < 0:
            raise located(path, number, f"start is negative: {start}", "BED starts are >= 0")
        if start >= end:
            raise located(path, number, f"start {start} is not below end {end}",
                          "BED intervals are half-open: start < end")
        summit = (start + end) // 2
        if len(fields) >= 10:
            offset = _integer(path, number, "summit offset (column 10)", fields[9])
            if offset != NO_SUMMIT:
                if not 0 <= offset < end - start:
                    raise located(path, number, f"summit offset {offset} lies outside the peak "
                                  f"of length {end - start}",
                                  "narrowPeak column 10 is an offset from start, or -1")
                summit = start + offset
        chroms.append(aliases.get(fields[0], fields[0]))
        starts.append(start)
        ends.append(end)
        summits.append(summit)
        lines.append(number)
    chrom = np.array(chroms, dtype=object)
    _check_names(path, what, set(chroms), sizes, aliases)
    known = np.array([name in sizes for name in chroms], dtype=bool)
    result = Intervals(chrom[known].astype(str) if known.any() else np.array([], dtype=str),
                       np.array(starts, dtype=np.int64)[known], np.array(ends, dtype=np.int64)[known],
                       np.array(summits, dtype=np.int64)[known], np.array(lines, dtype=np.int64)[known],
                       str(path))
    if not allow_past_end and len(result):
        limit = np.array([sizes[name] for name in result.chrom], dtype=np.int64)
        past = np.flatnonzero(result.end > limit)
        if past.size:
            row = past[0]
            raise located(path, int(result.line[row]), f"end {result.end[row]} runs past the end of "
                          f"{result.chrom[row]} ({limit[row]} bp); {past.size} interval(s) do",
                          "Is the file for another assembly? Otherwise clip it to the chromosome "
                          "sizes (e.g. UCSC bedClip)")
    return result


def _check_names(path: Path, what: str, names: set[str], sizes: Mapping[str, int],
                 aliases: Mapping[str, str]) -> None:
    if not names:
        return
    unknown = names - set(sizes)
    if unknown == names:
        suggestion = suggest_aliases(unknown, set(sizes))
        advice = ("Map them with chrom_aliases in the config"
                  + (f", e.g. chrom_aliases: {suggestion}" if suggestion else ""))
        raise located(path, None, f"no chromosome name in the {what} file is in the FASTA: the "
                      f"{what} file uses {describe_names(names)}; the FASTA has "
                      f"{describe_names(set(sizes))}",
                      advice)
    if unknown:
        log.warning("%s: %d chromosome name(s) of the %s are not in the FASTA and are ignored: %s",
                    path, len(unknown), what, describe_names(unknown))


def merge_intervals(starts: np.ndarray, ends: np.ndarray, chrom: str = "chr") -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals on one chromosome via ``bedtools merge``: sorted, disjoint,
    with touching intervals joined.
    """
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((ends, starts))
    text = "".join(f"{chrom}\t{s}\t{e}\n" for s, e in zip(starts[order].tolist(), ends[order].tolist()))
    source = pybedtools.BedTool(text, from_string=True)
    merged = source.merge()
    try:
        rows = [(iv.start, iv.end) for iv in merged]
    finally:
        for temporary in (source.fn, merged.fn):  # only ours: other BedTools stay usable
            Path(temporary).unlink(missing_ok=True)
    table = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return table[:, 0].copy(), table[:, 1].copy()


TASK_COLUMNS = ("name", "peaks")
#: optional columns of a task table, and the length of their hex digests
TASK_CHECKSUMS = {"sha256": 64, "md5": 32}
_TASK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_TABLE_ADVICE = ("A task table is tab-separated: a header line 'name<TAB>peaks' (optionally "
                 "sha256, md5 columns), then one line per task")


def read_task_table(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The tasks of a tab-separated task table, in the config's list form.

    The first line that is not blank and does not start with ``#`` is the header; it names
    the columns ``name`` and ``peaks`` (any order, any case), optionally ``sha256`` and
    ``md5``. Each later line is one task. A ``peaks`` value is a URL or a path; a relative
    path is taken relative to the table's folder. Blank and ``#`` lines are skipped.

    Returns
    -------
    ``[{"name": str, "peaks": source}]`` in the table's order, where ``source`` is the path
    or URL, or ``{"source": ..., "sha256": ..., "md5": ...}`` when a checksum is given.

    Raises
    ------
    InputError : naming the table, the line and the value, for a URL or missing table, a header
        without ``name`` or ``peaks`` (or with an unknown or repeated column), a line with
        another number of fields, an invalid or repeated task name, an empty peaks value,
        a local peaks file that does not exist, a malformed checksum, or no task at all.
    """
    if is_url(str(path)):
        raise located(path, None, "a task table must be a local file, not a URL",
                      "Download it and give its path (its peaks may be URLs)")
    path = Path(path)
    if not path.is_file():
        raise located(path, None, "the task table does not exist", "Check the config's peaks")
    lines = ((number, text) for number, text in read_lines(path, "task table")
             if text.strip() and not text.startswith("#"))
    header_line, header = next(lines, (None, ""))
    if header_line is None:
        raise located(path, None, "the task table is empty", _TABLE_ADVICE)
    columns = [column.strip().lower() for column in header.split("\t")]
    known = TASK_COLUMNS + tuple(TASK_CHECKSUMS)
    problems = [f"no column {c!r}" for c in TASK_COLUMNS if c not in columns]
    problems += [f"an unknown column {c!r}" for c in columns if c not in known]
    problems += [f"column {c!r} twice" for c in known if columns.count(c) > 1]
    if problems:
        raise located(path, header_line, f"the header {header!r} has {problems[0]}", _TABLE_ADVICE)
    tasks: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for number, text in lines:
        fields = [field.strip() for field in text.split("\t")]
        if len(fields) != len(columns):
            raise located(path, number, f"{len(fields)} tab-separated field(s) where the header has "
                          f"{len(columns)} ({', '.join(columns)}): {text!r}", _TABLE_ADVICE)
        row = dict(zip(columns, fields))
        name = row["name"]
        if not _TASK_NAME.fullmatch(name):
            raise located(path, number, f"task name {name!r} is empty or has characters other than "
                          "letters, digits, '_', '.' and '-'", "Rename the task")
        if name in first_line:
            raise located(path, number, f"task name {name!r} is given twice (first on line "
                          f"{first_line[name]})", "Give each task its own name")
        first_line[name] = number
        tasks.append({"name": name, "peaks": _task_source(path, number, row)})
    if not tasks:
        raise located(path, header_line, "the task table lists no task, only its header", _TABLE_ADVICE)
    return tasks


def _task_source(path: Path, number: int, row: Mapping[str, str]) -> str | dict[str, str]:
    """A task table row's peaks source: a URL, or a local path resolved against the table's
    folder (which must exist), with the row's checksums if any.
    """
    source = row["peaks"]
    if not source:
        raise located(path, number, f"task {row['name']!r} has no peaks file", _TABLE_ADVICE)
    if not is_url(source):
        resolved = os.path.normpath(os.path.join(path.parent, source))
        if not os.path.isfile(resolved):
            raise located(path, number, f"peaks file {source!r} of task {row['name']!r} does not exist "
                          f"(relative paths are taken from the table's folder: {resolved})",
                          "Correct the path, or give the file")
        source = resolved
    checksums = {}
    for column, digits in TASK_CHECKSUMS.items():
        value = row.get(column, "")
        if value and not (len(value) == digits and _HEX.fullmatch(value)):
            raise located(path, number, f"{column} {value!r} of task {row['name']!r} is not "
                          f"{digits} hex digits", f"Give the file's {column} or leave it empty")
        if value:
            checksums[column] = value
    return {"source": source, **checksums} if checksums else source
