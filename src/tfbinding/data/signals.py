"""The ``signals`` step: read bigWig signal tracks over one chromosome's dataset rows.

It writes ``S.<split>.npy`` beside the one-hot files (paths in :mod:`tfbinding.layout`);
the bigWigs are read through :class:`tfbinding.io.bigwig.SignalTracks`.
"""
from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Sequence

import numpy as np

from tfbinding import layout as keys
from tfbinding.atomic import atomic_path, write_npy_header
from tfbinding.io.bigwig import SignalTracks
from tfbinding.io.fasta import Genome
from tfbinding.layout import (
    part_names,
    read_arrays,
    rows_for_chrom,
    signal_counts_path,
    signal_path,
    table_folds,
)

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


SIGNAL_CHUNK = 4096


def build_signals(split_table: PathLike, bigwigs: Sequence[PathLike], transforms: Sequence[str],
                  fasta: PathLike, chrom: str, prefix: PathLike, *, missing: str = "error",
                  chunk: int = SIGNAL_CHUNK) -> dict[str, int]:
    """Read signal tracks (bigWig) over the windows of ``chrom``, one ``<prefix>.S.<split>.npy``
    per split: (N, length + 2*flank, S) float32, rows as in the one-hot files.

    Each bigWig is read with pyBigWig a chunk of rows at a time (one range per chunk,
    windows cut out by fancy indexing), so memory stays bounded by one chunk's range.

    Parameters
    ----------
    split_table : the split step's table.
    bigwigs : one bigWig per signal channel, in config order.
    transforms : one of :data:`tfbinding.io.bigwig.SIGNAL_TRANSFORMS` per bigWig
        (``log1p``: ``log(1 + x)``).
    fasta : the prepared FASTA (its chromosome size bounds the flanks).
    chrom, prefix : the chromosome and the output prefix.
    missing : ``"error"`` (default): a chromosome missing from a bigWig, or a base without
        a value (NaN) inside a window's span, is an :class:`~tfbinding.errors.InputError`
        naming the file and chromosome; ``"zero"``: read them as 0 and count them.
    chunk : rows per block.

    Returns
    -------
    dict
        ``{"nan_bases": ..., "missing_chromosome": ...}``, also written to
        ``<prefix>.S.json``.
    """
    import json

    tracks = SignalTracks(tuple(map(str, bigwigs)), tuple(transforms), missing)
    chrom_size = Genome(fasta).sizes[chrom]
    table = read_arrays(split_table, (keys.CHROMS, keys.CHROM_INDEX, keys.SPLIT, keys.STARTS,
                                      keys.LENGTH, keys.FLANK))
    length, flank = int(table[keys.LENGTH]), int(table[keys.FLANK])
    span = length + 2 * flank
    # one pass along the chromosome for all splits: each base is read once, and each
    # block's rows go to their split's file (rows stay in start order within a split)
    parts = part_names(table_folds(split_table))  # the splits, or the parts with folds
    rows = np.concatenate([rows_for_chrom(table, chrom, value) for value in range(len(parts))])
    rows.sort()
    starts, split_of = table[keys.STARTS][rows], table[keys.SPLIT][rows]
    with tracks.open(chrom, chrom_size) as reader, ExitStack() as stack:
        outputs = []
        for value, name in enumerate(parts):
            tmp = stack.enter_context(atomic_path(signal_path(prefix, name)))
            outputs.append(stack.enter_context(open(tmp, "wb")))
            write_npy_header(outputs[-1], (int((split_of == value).sum()), span, len(tracks)), np.float32)
        for first in range(0, len(starts), chunk):
            block = reader.read(starts[first:first + chunk], span, flank)
            block_splits = split_of[first:first + chunk]
            for value, handle in enumerate(outputs):
                handle.write(memoryview(np.ascontiguousarray(block[block_splits == value])))
    counts = reader.counts
    with atomic_path(signal_counts_path(prefix)) as tmp:
        Path(tmp).write_text(json.dumps(counts, sort_keys=True))
    return counts
