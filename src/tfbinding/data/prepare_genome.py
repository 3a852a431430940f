"""The ``prepare_genome`` step: decompress and normalise a reference FASTA once, and index it.

Reading the prepared FASTA is :mod:`tfbinding.io.fasta`'s. Coordinates are 0-based,
half-open everywhere, as in BED and pysam.
"""
from __future__ import annotations

import gzip
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pysam

from tfbinding.atomic import atomic_path, save_json
from tfbinding.checksums import sha256sum
from tfbinding.errors import located
from tfbinding.io.fasta import compression_of, describe_names, read_fai

log = logging.getLogger(__name__)

_BLOCK = 8 << 20


@dataclass
class FastaScan:
    """What one streaming pass over a FASTA found."""

    names: list[str]
    has_cr: bool


def _scan_blocks(source: BinaryIO, path: object, sink: BinaryIO | None) -> FastaScan:
    """Read ``source`` in blocks of whole lines, collect record names, check for
    duplicates and CR bytes, and copy the lines (CR removed) to ``sink`` if given.
    """
    names: list[str] = []
    first_line: dict[str, int] = {}
    has_cr = False
    lines_before = 0
    carry = b""
    started = False
    while True:
        chunk = source.read(_BLOCK)
        block = carry + chunk
        if chunk:
            cut = block.rfind(b"\n") + 1
            block, carry = block[:cut], block[cut:]
        else:
            carry = b""
        if not block:
            if not chunk:
                break
            continue
        if not started:
            if not block.lstrip().startswith(b">"):
                raise located(path, 1, f"not a FASTA file: the first line is {block[:40]!r}",
                              "Give a FASTA file whose first line is a '>name' header")
            started = True
        if b"\r" in block:
            has_cr = True
            block = block.replace(b"\r", b"")
        pos = 0 if block.startswith(b">") else block.find(b"\n>")
        if b"\0" in block:
            line = lines_before + block.count(b"\n", 0, block.index(b"\0")) + 1
            raise located(path, line, "the FASTA holds a NUL byte", "Is it a binary or corrupt file?")
        while pos != -1:
            begin = pos if block[pos:pos + 1] == b">" else pos + 1
            end = block.find(b"\n", begin)
            end = len(block) if end == -1 else end
            header = block[begin + 1:end].decode("ascii", "replace")
            name = header.split()[0] if header.split() else ""
            line = lines_before + block.count(b"\n", 0, begin) + 1
            if not name:
                raise located(path, line, "a FASTA header has no sequence name",
                              "Every record needs '>name'")
            if name in first_line:
                raise located(path, line, f"duplicate FASTA record {name!r} (first seen on line "
                              f"{first_line[name]})", "Remove or rename one of the two records")
            first_line[name] = line
            names.append(name)
            pos = block.find(b"\n>", end)
        lines_before += block.count(b"\n")
        if sink is not None:
            sink.write(block)
        if not chunk:
            break
    if not started:
        raise located(path, None, "the FASTA file is empty")
    return FastaScan(names=names, has_cr=has_cr)


def _ends_with_a_header(path: Path) -> bool:
    """Whether the file's last non-blank line is a ``>`` header (an empty last record)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - 65536))
        tail = handle.read().rstrip()
    return tail.rsplit(b"\n", 1)[-1].startswith(b">")


def prepare_fasta(source: str | os.PathLike, dest: str | os.PathLike) -> dict:
    """Make ``dest`` an indexed, uncompressed, LF-only copy (or link) of ``source``.

    A gzip or bgzip FASTA (as UCSC serves them) is decompressed; a plain FASTA is linked,
    unless it has CRLF line ends, which are rewritten. Duplicate record names are an
    error. Writes ``dest``, ``dest.fai`` and ``dest.source.json`` (sha256 and size of
    the source); returns that description.
    """
    source, dest = Path(source), Path(dest)
    if not source.exists():
        raise located(source, None, "the genome FASTA does not exist",
                      "Check genome.fasta in the config")
    compression = compression_of(source)
    fai = Path(f"{dest}.fai")
    with atomic_path(dest) as tmp, atomic_path(fai) as tmp_fai:
        try:
            if compression != "none":
                with gzip.open(source, "rb") as raw, open(tmp, "wb") as sink:
                    scan = _scan_blocks(raw, source, sink)
            else:
                with open(source, "rb") as raw:
                    scan = _scan_blocks(raw, source, None)
                if scan.has_cr:
                    with open(source, "rb") as raw, open(tmp, "wb") as sink:
                        _scan_blocks(raw, source, sink)
                else:
                    os.symlink(source.resolve(), tmp)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise located(source, None, f"the gzip file is truncated or corrupt ({err})",
                          "Download or copy it again (gzip -t checks a file)") from None
        except OSError as err:
            if err.filename is None or str(err.filename) == str(tmp):
                err.filename = str(dest)  # a full disk: name the FASTA, not its index
            raise
        try:
            pysam.faidx(str(tmp), "--fai-idx", str(tmp_fai))
        except pysam.SamtoolsError as err:
            if _ends_with_a_header(tmp):
                raise located(source, None, f"the last FASTA record, {scan.names[-1]!r}, is empty (a "
                              "header line with no sequence after it), and samtools cannot index "
                              "that", "Remove that header line") from None
            raise located(source, None, f"samtools faidx could not index it: {err}",
                          "Check that every record's lines have the same length") from err
        indexed = set(read_fai(tmp_fai))
    # samtools leaves records without sequence out of the index; remember them, so that a
    # chromosome listed in the config is reported as empty, not as absent
    empty = [name for name in scan.names if name not in indexed]
    if empty:
        log.warning("%s: %d FASTA record(s) have no sequence: %s", source, len(empty),
                    describe_names(empty))
    if scan.has_cr:
        log.warning("%s has CRLF line endings; wrote an LF-only copy to %s", source, dest)
    description = {
        "source": str(source),
        "sha256": sha256sum(source),
        "bytes": source.stat().st_size,
        "compression": compression,
        "crlf_rewritten": scan.has_cr,
        "records": len(scan.names),
        "empty_records": empty,
    }
    save_json(f"{dest}.source.json", description)
    return description
