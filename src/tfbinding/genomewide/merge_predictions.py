"""One genome-wide track from per-chromosome predictions: the ``<chrom>.bw`` files merged
into one bigWig (every chromosome of the FASTA in its header), and the
``<chrom>.sites.narrowPeak`` files into one sorted narrowPeak file, so that IGV or the UCSC
browser loads the whole prediction in one step.

The bigWig's header lists the FASTA's chromosomes in ``.fai`` order, and its entries follow
that order (pyBigWig requires it). The sites are sorted as ``sort -k1,1 -k2,2n`` sorts
(chromosome name by byte value, then start, then end), the order ``bedToBigBed`` expects.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tfbinding.atomic import atomic_path
from tfbinding.errors import InputError, located
from tfbinding.io.fasta import read_fai

#: columns of a narrowPeak line (BED6 + signalValue, pValue, qValue, peak)
NARROWPEAK_COLUMNS = 10
#: bases of one chromosome copied at a time (bounds memory on a 250-Mb chromosome)
_BLOCK_BP = 10_000_000


def merge_bigwigs(bigwigs: Sequence[str | os.PathLike], chroms: Sequence[str],
                  fai: str | os.PathLike, out: str | os.PathLike, block_bp: int = _BLOCK_BP) -> int:
    """Merge per-chromosome bigWigs into one genome-wide bigWig.

    Parameters
    ----------
    bigwigs : paths
        One bigWig per chromosome (``predict``'s ``<chrom>.bw``).
    chroms : str, one per bigWig
        The chromosome whose entries each bigWig holds; the others' are ignored.
    fai : path
        The prepared FASTA's ``.fai``: the header's chromosomes and sizes, in its order.
    out : path
        The merged bigWig, written atomically.
    block_bp : int, default 10,000,000
        Bases of a chromosome read at a time (bounds memory).

    Returns
    -------
    int
        The number of intervals written.

    Raises
    ------
    InputError
        A chromosome twice or not in the FASTA, or a bigWig whose size for it differs
        from the FASTA's (built from another genome).
    """
    import pyBigWig

    if len(bigwigs) != len(chroms):
        raise InputError(f"{len(bigwigs)} bigWig files but {len(chroms)} chromosomes: give one "
                         "chromosome per bigWig, in the same order")
    sizes = {name: record.length for name, record in read_fai(fai).items()}
    by_chrom: dict[str, Path] = {}
    for path, chrom in zip(bigwigs, chroms):
        if chrom in by_chrom:
            raise InputError(f"chromosome {chrom!r} is given twice ({by_chrom[chrom]} and {path})")
        if chrom not in sizes:
            raise located(path, None, f"chromosome {chrom!r} is not in {fai}",
                          "Predict on the FASTA the merge is for")
        by_chrom[chrom] = Path(path)
    written = 0
    with atomic_path(out) as tmp:
        merged = pyBigWig.open(str(tmp), "w")
        try:
            merged.addHeader(list(sizes.items()), maxZooms=10)
            for chrom in (name for name in sizes if name in by_chrom):  # the header's order
                written += _copy_chrom(by_chrom[chrom], chrom, sizes[chrom], merged, block_bp)
        finally:
            merged.close()
    return written


def _copy_chrom(path: Path, chrom: str, size: int, merged, block_bp: int) -> int:
    """Append one chromosome's intervals from ``path`` to the open bigWig ``merged``."""
    import pyBigWig

    if not path.exists():
        raise located(path, None, "no such bigWig", "Run the predict step for this chromosome first")
    source = pyBigWig.open(str(path))
    if source is None:
        raise located(path, None, "not a bigWig file")
    try:
        their_size = source.chroms().get(chrom)
        if their_size != size:
            found = "has no" if their_size is None else f"has {their_size:,} bp for"
            raise located(path, None, f"the bigWig {found} {chrom}, the FASTA {size:,} bp",
                          "It was predicted on another genome; predict again")
        written = 0
        for first in range(0, size, block_bp):
            # an interval across the block's start came with the block before
            block = [(s, e, v) for s, e, v in source.intervals(chrom, first, min(first + block_bp, size)) or ()
                     if s >= first]
            if block:
                starts, ends, values = zip(*block)
                merged.addEntries([chrom] * len(block), list(starts), ends=list(ends), values=list(values))
                written += len(block)
        return written
    finally:
        source.close()


def _sort_key(fields: list[str]) -> tuple[bytes, int, int]:
    return fields[0].encode(), int(fields[1]), int(fields[2])


def read_narrowpeak(path: str | os.PathLike) -> list[list[str]]:
    """The lines of a narrowPeak file as fields, checked: 10 columns, integer start < end.

    ``track``, ``browser`` and ``#`` lines are skipped.
    """
    rows = []
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("track", "browser", "#")):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != NARROWPEAK_COLUMNS:
                raise located(path, number, f"{len(fields)} tab-separated columns, narrowPeak has "
                              f"{NARROWPEAK_COLUMNS}")
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise located(path, number, f"start {fields[1]!r} or end {fields[2]!r} is not an "
                              "integer") from None
            if not 0 <= start < end:
                raise located(path, number, f"start {start} and end {end}: need 0 <= start < end")
            rows.append(fields)
    return rows


def merge_sites(sites: Sequence[str | os.PathLike], out: str | os.PathLike) -> int:
    """Concatenate per-chromosome narrowPeak files into one, sorted as ``sort -k1,1 -k2,2n``.

    Parameters
    ----------
    sites : paths
        ``predict``'s ``<chrom>.sites.narrowPeak`` files.
    out : path
        The merged narrowPeak file, written atomically (no track line, so that
        ``bedToBigBed -type=bed6+4 -as=narrowPeak.as`` takes it as it is).

    Returns
    -------
    int
        The number of sites written.
    """
    rows = [fields for path in sites for fields in read_narrowpeak(path)]
    rows.sort(key=_sort_key)
    with atomic_path(out) as tmp, open(tmp, "w") as handle:
        handle.writelines("\t".join(fields) + "\n" for fields in rows)
    return len(rows)


def merge_predictions(bigwigs: Sequence[str | os.PathLike], sites: Sequence[str | os.PathLike],
                      chroms: Sequence[str], fai: str | os.PathLike, out_bigwig: str | os.PathLike,
                      out_sites: str | os.PathLike) -> dict[str, int]:
    """Merge ``predict``'s per-chromosome bigWigs and sites into one genome-wide pair.

    Parameters
    ----------
    bigwigs, sites : paths, one per chromosome
    chroms : str, one per chromosome, in the order of ``bigwigs``
    fai : path
        The prepared FASTA's index (the bigWig's header).
    out_bigwig, out_sites : path
        E.g. ``results/<name>/predictions/genome.bw`` and ``genome.sites.narrowPeak``.

    Returns
    -------
    dict
        ``chromosomes``, ``intervals`` and ``sites`` written.
    """
    intervals = merge_bigwigs(bigwigs, chroms, fai, out_bigwig)
    count = merge_sites(sites, out_sites)
    return {"chromosomes": len(chroms), "intervals": intervals, "sites": count}
