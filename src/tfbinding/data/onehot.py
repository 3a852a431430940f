"""The onehot step: one chromosome's windows of each split, one-hot encoded (``X.<split>.npy``).

The encoding itself lives in :mod:`tfbinding.data.encoding`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

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
from tfbinding.layout import onehot_path, part_names, read_arrays, rows_for_chrom, table_folds

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def build_onehot(split_table: PathLike, fasta: PathLike, chrom: str, prefix: PathLike) -> list[Path]:
    """One-hot encode the windows of ``chrom`` (with flanks), one ``<prefix>.<split>.npy``
    per split (per part ``<prefix>.part<k>.npy`` with folds), rows ordered by start.
    Returns the paths.
    """
    sequence = Genome(fasta).sequence(chrom)  # its alphabet was checked by the windows step
    table = read_arrays(split_table, (keys.CHROMS, keys.CHROM_INDEX, keys.SPLIT, keys.STARTS,
                                      keys.LENGTH, keys.FLANK))
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    written = []
    for value, name in enumerate(part_names(table_folds(split_table))):
        starts = table[keys.STARTS][rows_for_chrom(table, chrom, value)]
        out = onehot_path(prefix, name)
        # written as a stream, not through a memory map: a full disk must raise ENOSPC
        # (a clear error), where a memory map would die of SIGBUS
        with atomic_path(out) as tmp, open(tmp, "wb") as handle:
            write_npy_header(handle, (len(starts), length + 2 * flank, 4), np.uint8)
            for block in iter_encoded_windows(sequence, starts, length, flank):
                handle.write(memoryview(block))
        written.append(out)
    return written
