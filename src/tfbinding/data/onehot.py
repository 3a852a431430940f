"""The onehot step: one chromosome's windows of each split, one-hot encoded (``X.<split>.npy``).

The encoding itself lives in :mod:`tfbinding.data.encoding`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from tfbinding import layout as keys
from tfbinding.atomic import atomic_path, write_npy_header
from tfbinding.data.encoding import (  # noqa: F401  (re-exported: the encoders' old home)
    ALPHABET,
    IS_ACGT,
    IS_VALID,
    ONE_HOT_TABLE,
    VALID_BYTES,
    base_classes,
    centred_windows,
    encode_windows,
    iter_encoded_windows,
    one_hot,
)
from tfbinding.io.fasta import Genome
from tfbinding.layout import npz_memmaps, onehot_path, part_names, table_folds

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


#: below this fraction of a chromosome's bases in its rows, the rows' bases are gathered
#: straight from the FASTA's page cache instead of reading the whole chromosome first
SPARSE_FRACTION = 0.25


def chrom_rows(table: Mapping[str, np.ndarray], chrom: str) -> tuple[int, int]:
    """The rows ``[first, last)`` of ``chrom`` in a split table, whose rows come chromosome
    by chromosome in the table's order (the split step writes them so; checked).
    """
    chrom_index = table[keys.CHROM_INDEX]
    index = int(np.flatnonzero(np.asarray(table[keys.CHROMS]) == chrom)[0])
    if len(chrom_index) > 1 and np.any(chrom_index[1:] < chrom_index[:-1]):
        raise ValueError("the split table's rows are not grouped by chromosome")
    key = chrom_index.dtype.type(index)  # a Python int would cast the whole column first
    return (int(np.searchsorted(chrom_index, key, "left")),
            int(np.searchsorted(chrom_index, key, "right")))


def gather_bases(genome: Genome, chrom: str, starts: np.ndarray, span: int,
                 rows_per_block: int = 1 << 15) -> np.ndarray:
    """``(n, span)`` uint8: the bases ``[start, start + span)`` of each row, read straight from
    the FASTA through a memory map (line ends skipped by index arithmetic), 0 outside the
    chromosome. For a few rows of a long chromosome this touches only their pages.
    """
    record = genome.index[chrom]
    genome.check_chromosomes([chrom])
    raw = np.memmap(genome.path, dtype=np.uint8, mode="r")
    out = np.empty((len(starts), span), dtype=np.uint8)
    offsets = np.arange(span, dtype=np.int64)
    gap = record.line_bytes - record.line_bases
    for first in range(0, len(starts), rows_per_block):
        positions = starts[first:first + rows_per_block, None] + offsets
        outside = (positions < 0) | (positions >= record.length)
        np.clip(positions, 0, max(record.length - 1, 0), out=positions)
        positions += record.offset + positions // record.line_bases * gap
        block = raw[positions]
        block[outside] = 0
        out[first:first + rows_per_block] = block
    return out


def _encoded_gathered(genome: Genome, chrom: str, starts: np.ndarray, span: int,
                      rows: int = 1 << 15):
    """Blocks of one-hot rows as :func:`iter_encoded_windows` yields them, from
    :func:`gather_bases` (``starts`` include the left flank).
    """
    table32 = ONE_HOT_TABLE.view(np.uint32).ravel()
    for first in range(0, len(starts), rows):
        bases = gather_bases(genome, chrom, starts[first:first + rows], span)
        yield table32[bases].view(np.uint8).reshape(len(bases), span, 4)


def build_onehot(split_table: PathLike, fasta: PathLike, chrom: str, prefix: PathLike) -> list[Path]:
    """One-hot encode the windows of ``chrom`` (with flanks), one ``<prefix>.<split>.npy``
    per split (per part ``<prefix>.part<k>.npy`` with folds), rows ordered by start.
    Returns the paths.

    The split table's columns are memory-mapped and only ``chrom``'s rows are read. When
    the rows cover under :data:`SPARSE_FRACTION` of the chromosome (downsampled negatives),
    their bases are gathered from the FASTA directly; otherwise the chromosome is read once.
    """
    genome = Genome(fasta)
    table = npz_memmaps(split_table, (keys.CHROMS, keys.CHROM_INDEX, keys.SPLIT, keys.STARTS))
    with np.load(split_table) as small:
        length, flank = int(small[keys.LENGTH]), int(small[keys.FLANK])
    span = length + 2 * flank
    first, last = chrom_rows(table, chrom)
    assignment = np.asarray(table[keys.SPLIT][first:last])
    chrom_starts = np.asarray(table[keys.STARTS][first:last], dtype=np.int64)
    names = part_names(table_folds(split_table))
    kept = int(np.count_nonzero((assignment >= 0) & (assignment < len(names))))
    size = genome.sizes.get(chrom, 0)
    sequence = None
    if kept * span >= SPARSE_FRACTION * size:
        sequence = genome.sequence(chrom)  # its alphabet was checked by the windows step
    written = []
    for value, name in enumerate(names):
        starts = chrom_starts[assignment == value]
        out = onehot_path(prefix, name)
        # written as a stream, not through a memory map: a full disk must raise ENOSPC
        # (a clear error), where a memory map would die of SIGBUS
        with atomic_path(out) as tmp, open(tmp, "wb") as handle:
            write_npy_header(handle, (len(starts), length + 2 * flank, 4), np.uint8)
            if sequence is not None:
                blocks = iter_encoded_windows(sequence, starts, length, flank)
            else:
                blocks = _encoded_gathered(genome, chrom, starts - flank, span)
            for block in blocks:
                handle.write(memoryview(block))
        written.append(out)
    return written
