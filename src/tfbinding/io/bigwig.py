"""Signal channels of windows outside a built dataset: a signal model's bigWig tracks read
over the windows that prediction, variant scoring and BED-region interpretation score.

The dataset's signals step (:func:`tfbinding.data.signals.build_signals`) reads through
the same :class:`SignalTracks` (one pyBigWig ``values()`` range per group of nearby
windows, transformed alike), so a model sees here what it saw in training: bases past a chromosome's end are 0; a base without a
value (NaN), or a chromosome the bigWig lacks, is an :class:`~tfbinding.errors.InputError`
naming the file, unless ``missing="zero"`` (the config's ``signals_missing: zero``), which
reads them as 0 and counts them.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tfbinding.config import SIGNAL_MISSING, SIGNAL_TRANSFORMS
from tfbinding.errors import InputError, located

#: windows whose spans lie within this many bases are read with one ``values()`` call
#: (bounds the float32 buffer at 16 MB however sparse the windows are)
GROUP_BP = 1 << 22


def _signal_block(bw, bigwig: str | os.PathLike, chrom: str, chrom_size: int, starts: np.ndarray,
                  flank: int, span: int, missing: str, counts: dict[str, int],
                  transform: str = "none") -> np.ndarray:
    """(rows, span) float32 values of one bigWig over ``[start - flank, start - flank + span)``,
    transformed (``transform``); bases outside the chromosome are 0, NaN (no data) is an
    error or 0 (counted).

    One ``bw.values`` call covers the block's whole range, transformed once; the rows are
    cut out of it as sliding-window views, by fancy indexing. Only a range that holds a NaN
    is checked row by row (a NaN between two windows is no error).
    """
    first = int(starts[0]) - flank                     # the range's first position (may be < 0)
    values = np.zeros(int(starts[-1]) - first + span, dtype=np.float32)
    lo, hi = max(first, 0), min(first + len(values), chrom_size)
    if hi > lo:
        stop = min(hi, int(bw.chroms(chrom)))          # past the bigWig's own end: no value
        values[lo - first:hi - first] = np.nan
        if stop > lo:
            values[lo - first:stop - first] = bw.values(chrom, lo, stop, numpy=True)
    if transform == "log1p":
        np.log1p(values, out=values)                   # NaN stays NaN, 0 stays 0
    block = sliding_window_view(values, span)[starts - starts[0]]
    if not np.isnan(values).any():
        return block
    nan = np.isnan(block)
    if nan.any():
        if missing != "zero":
            row, column = np.argwhere(nan)[0]
            raise located(bigwig, None, f"no value (NaN) at {chrom}:{int(starts[row]) - flank + int(column)}, "
                          f"inside a window's span ({int(nan.sum())} such bases in this block)",
                          "Give a bigWig that covers every window (e.g. with explicit zeros), or "
                          "set signals_missing: zero to read missing values as 0 (counted)")
        counts["nan_bases"] += int(nan.sum())
        block[nan] = 0.0
    return block


@dataclass(frozen=True)
class SignalTracks:
    """The bigWig tracks of a signal model's extra input channels, in channel order.

    Attributes
    ----------
    bigwigs : tuple of str
        One bigWig per channel.
    transforms : tuple of str
        ``none`` or ``log1p`` per channel, as the dataset was built.
    missing : str, default "error"
        ``error`` or ``zero`` (the config's ``signals_missing``).
    names : tuple of str
        The channels' names (for messages and provenance).
    """

    bigwigs: tuple[str, ...]
    transforms: tuple[str, ...]
    missing: str = "error"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.transforms) != len(self.bigwigs):
            raise InputError(f"{len(self.bigwigs)} signal bigWigs but {len(self.transforms)} transforms: "
                             "give one transform per bigWig")
        for transform in self.transforms:
            if transform not in SIGNAL_TRANSFORMS:
                raise InputError(f"signals transform {transform!r}: choose one of {list(SIGNAL_TRANSFORMS)}")
        if self.missing not in SIGNAL_MISSING:
            raise InputError(f"signals_missing {self.missing!r}: choose one of {list(SIGNAL_MISSING)}")

    def __len__(self) -> int:
        return len(self.bigwigs)

    @classmethod
    def from_manifest(cls, dataset: str | os.PathLike) -> "SignalTracks | None":
        """The tracks a dataset was built with (``manifest.json``'s ``signals.channels`` and
        the config's ``signals_missing``); None when it has no signal channel.

        Raises
        ------
        InputError
            A channel whose bigWig was a URL (give the downloaded file instead).
        """
        path = Path(dataset)
        path = path if path.suffix == ".json" else path / "manifest.json"
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{path}: no readable dataset manifest ({err}). Build the dataset "
                             "first, or give the signal bigWigs directly") from err
        channels = (manifest.get("signals") or {}).get("channels") or []
        if not channels:
            return None
        bigwigs = []
        for channel in channels:
            source = channel.get("bigwig")
            source = source.get("source") if isinstance(source, Mapping) else source
            if not isinstance(source, str) or source.startswith(("http://", "https://", "ftp://")):
                raise InputError(f"{path}: signal channel {channel.get('name')!r} was read from "
                                 f"{source!r}, not a local file. Give the downloaded bigWigs "
                                 "(--bigwigs, with --transforms) instead")
            bigwigs.append(source)
        missing = ((manifest.get("config") or {}).get("signals_missing")) or "error"
        return cls(tuple(bigwigs), tuple(c.get("transform") or "none" for c in channels), missing,
                   tuple(str(c.get("name", "")) for c in channels))

    @contextmanager
    def open(self, chrom: str, chrom_size: int) -> Iterator["ChromSignals"]:
        """The tracks over one chromosome (the bigWigs stay open inside the block)."""
        import pyBigWig

        handles = []
        try:
            for path in self.bigwigs:
                try:
                    bw = pyBigWig.open(str(path))
                except RuntimeError:
                    bw = None
                if bw is None or not bw.isBigWig():
                    raise located(path, None, "is not a readable bigWig file",
                                  "Check the signals' bigWig paths (for a model: the ones its "
                                  "dataset was built with)")
                handles.append(bw)
            yield ChromSignals(self, handles, chrom, chrom_size)
        finally:
            for bw in handles:
                bw.close()


class ChromSignals:
    """The open tracks of one chromosome; :meth:`read` gives windows' signal channels."""

    def __init__(self, tracks: SignalTracks, handles: list, chrom: str, chrom_size: int):
        self.tracks, self.handles, self.chrom, self.chrom_size = tracks, handles, chrom, chrom_size
        #: bases read as zero: ``nan_bases``, and ``missing_chromosome`` (bigWigs without it)
        self.counts = {"nan_bases": 0, "missing_chromosome": 0}
        self.present = []
        for bw, path in zip(handles, tracks.bigwigs):
            has = chrom in bw.chroms()
            if not has:
                if tracks.missing != "zero":
                    raise located(path, None, f"has no chromosome {chrom!r} (it has "
                                  f"{sorted(bw.chroms())[:5]}...)", "Give a bigWig covering every "
                                  "chromosome you build or score, or set signals_missing: zero")
                self.counts["missing_chromosome"] += 1
            self.present.append(has)

    def read(self, starts: np.ndarray, span: int, flank: int = 0) -> np.ndarray:
        """Signal channels of the windows ``[start - flank, start - flank + span)``.

        Parameters
        ----------
        starts : array of int
            Window starts, in any order (0-based; the span may run past either end).
        span : int
            Bases per window (the model's input length).
        flank : int, default 0
            Bases read before each start.

        Returns
        -------
        numpy.ndarray
            ``(n, span, S)`` float32, rows in ``starts``' order, each channel transformed.
        """
        starts = np.asarray(starts, dtype=np.int64)
        out = np.zeros((len(starts), span, len(self.tracks)), dtype=np.float32)
        if not len(starts):
            return out
        order = np.argsort(starts, kind="stable")
        ordered = starts[order]
        # groups of windows starting within GROUP_BP of each other: one values() call each
        group = (ordered - ordered[0]) // GROUP_BP
        edges = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1, [len(ordered)]))
        for channel, (bw, path, transform, has) in enumerate(zip(
                self.handles, self.tracks.bigwigs, self.tracks.transforms, self.present)):
            if not has:
                continue
            for low, high in pairwise(edges):
                out[order[low:high], :, channel] = _signal_block(
                    bw, path, self.chrom, self.chrom_size, ordered[low:high], flank, span,
                    self.tracks.missing, self.counts, transform)
        return out


def require_signals(model, tracks: SignalTracks | None, what: str) -> SignalTracks | None:
    """The tracks a model needs, checked: as many bigWigs as it has signal channels.

    Raises
    ------
    InputError
        A signal model without tracks, tracks for a sequence-only model, or a count that
        differs from the model's.
    """
    from tfbinding.models.inference import signal_channels

    wanted = signal_channels(model)
    given = len(tracks) if tracks is not None else 0
    if wanted != given:
        raise InputError(f"{what}: the model reads {wanted} signal channel(s) after A, C, G, T, but "
                         f"{given} signal bigWig(s) were given. Give the bigWigs (and transforms) the "
                         "training dataset was built with (config signals, or the dataset's manifest)")
    return tracks if wanted else None


def tracks_from_args(bigwigs: Sequence[str] | None, transforms: Sequence[str] | None, missing: str,
                     dataset: str | os.PathLike | None = None) -> SignalTracks | None:
    """Tracks from command-line values: ``--bigwigs`` with ``--transforms`` (default ``none``
    each), or else the dataset's manifest; None when neither gives any.
    """
    if bigwigs:
        transforms = list(transforms or ["none"] * len(bigwigs))
        return SignalTracks(tuple(map(str, bigwigs)), tuple(transforms), missing)
    if transforms:
        raise InputError("--transforms given without --bigwigs: give one bigWig per transform")
    return SignalTracks.from_manifest(dataset) if dataset else None
