"""Assign labelled windows to train / valid / test, check the split for leaks, weight it,
and write the split table (the ``split`` step).

Three methods: ``random`` (stratified by label, the study's), ``chromosome`` (whole
chromosomes held out) and ``blocks`` (contiguous genomic blocks shuffled between splits).
"""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from . import intermediates as keys
from .atomic import save_npz
from .errors import InputError
from .intermediates import read_arrays, read_drops
from .options import SPLIT_METHODS, WEIGHTS_MODES, check_choice
from .weights import split_weights

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
TRAIN, VALID, TEST = 0, 1, 2
DROPPED = -1
BLOCK_BOUNDARY = "block_boundary"
NEGATIVE_DOWNSAMPLING = "negative_downsampling"


@dataclass(frozen=True)
class SplitSpec:
    """How windows are divided (the config's ``split`` section).

    Attributes
    ----------
    method : ``"random"`` (default), ``"chromosome"`` or ``"blocks"``.
    fractions : train, valid, test fractions (default 0.8, 0.1, 0.1); they sum to 1. Of
        the windows of each class (random) or of the blocks (blocks).
    seed : seed of the shuffles (default 0).
    valid, test : chromosomes held out (chromosome method).
    block_size : bp per block (default 1,000,000; blocks method).
    negative_fraction : keep this seeded fraction of the negatives of train and valid
        (default 1.0: all); test stays whole.

    Raises
    ------
    InputError
        For an unknown method, fractions that are not three numbers in [0, 1] summing to
        1, a chromosome in both valid and test, or a fraction or size out of range.
    """

    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    valid: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    block_size: int = 1_000_000
    negative_fraction: float = 1.0

    def __post_init__(self) -> None:
        check_choice(self.method, SPLIT_METHODS, "split.method")
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        object.__setattr__(self, "valid", tuple(self.valid))
        object.__setattr__(self, "test", tuple(self.test))
        if len(self.fractions) != 3 or not all(0.0 <= f <= 1.0 for f in self.fractions):
            raise InputError(f"split.fractions: {list(self.fractions)} must be three numbers in "
                             "[0, 1] (train, valid, test)")
        if not math.isclose(sum(self.fractions), 1.0, abs_tol=1e-6):
            raise InputError(f"split.fractions: {list(self.fractions)} sum to {sum(self.fractions):g}, "
                             "not 1. Give train, valid and test fractions that add up to 1")
        both = sorted(set(self.valid) & set(self.test))
        if both:
            raise InputError(f"split: chromosome(s) {both} are in both valid and test")
        if self.block_size < 1:
            raise InputError(f"split.block_size: {self.block_size} must be at least 1")
        if not 0.0 < self.negative_fraction <= 1.0:
            raise InputError(f"split.negative_fraction: {self.negative_fraction} must be in (0, 1]")


def _counts(total: int, fractions: Sequence[float]) -> tuple[int, int]:
    n_train = int(round(fractions[0] * total))
    n_valid = min(int(round(fractions[1] * total)), total - n_train)
    return n_train, n_valid


def random_split(labels: np.ndarray, fractions: Sequence[float], seed: int) -> np.ndarray:
    """Stratified by label: each class is shuffled with ``seed`` and cut by ``fractions``."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int8)
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_train, n_valid = _counts(len(members), fractions)
        assignment[members[:n_train]] = TRAIN
        assignment[members[n_train:n_train + n_valid]] = VALID
        assignment[members[n_train + n_valid:]] = TEST
    return assignment


def chromosome_split(chroms: np.ndarray, valid: Sequence[str], test: Sequence[str]) -> np.ndarray:
    """Whole chromosomes held out: ``valid`` and ``test`` name them, the rest train."""
    overlap = set(valid) & set(test)
    if overlap:
        raise InputError(f"split: chromosome(s) {sorted(overlap)} are in both valid and test")
    assignment = np.full(len(chroms), TRAIN, dtype=np.int8)
    assignment[np.isin(chroms, list(valid))] = VALID
    assignment[np.isin(chroms, list(test))] = TEST
    return assignment


def block_ids(chroms: np.ndarray, starts: np.ndarray, block_size: int) -> np.ndarray:
    """An integer per (chromosome, block) pair."""
    _, chrom_index = np.unique(chroms, return_inverse=True)
    block = starts // block_size
    key = chrom_index.astype(np.int64) * (int(block.max(initial=0)) + 1) + block
    return np.unique(key, return_inverse=True)[1]


def crosses_block(starts: np.ndarray, span_start_offset: int, span_end_offset: int,
                  block_size: int) -> np.ndarray:
    """True where ``[start + span_start_offset, start + span_end_offset)`` touches two blocks.

    Such windows could share bases with a window of a neighbouring block that went to
    another split; they are dropped (reason ``block_boundary``).
    """
    first = np.floor_divide(starts + span_start_offset, block_size)
    last = np.floor_divide(starts + span_end_offset - 1, block_size)
    return first != last


def block_split(chroms: np.ndarray, starts: np.ndarray, block_size: int, fractions: Sequence[float],
                seed: int) -> np.ndarray:
    """Contiguous genomic blocks of ``block_size`` bp, shuffled with ``seed`` and cut by
    ``fractions`` of the blocks."""
    blocks = block_ids(chroms, starts, block_size)
    n_blocks = int(blocks.max(initial=-1)) + 1
    order = np.random.default_rng(seed).permutation(n_blocks)
    n_train, n_valid = _counts(n_blocks, fractions)
    block_split_of = np.empty(n_blocks, dtype=np.int8)
    block_split_of[order[:n_train]] = TRAIN
    block_split_of[order[n_train:n_train + n_valid]] = VALID
    block_split_of[order[n_train + n_valid:]] = TEST
    return block_split_of[blocks]


def shared_base_pairs(chrom_index: np.ndarray, starts: np.ndarray, span: int) -> int:
    """How many pairs of neighbouring rows share bases: their spans ``[start - flank,
    start + length + flank)``, ``span`` bp long, overlap on the same chromosome.

    Rows must be ordered by chromosome, then start (as in the split table).
    """
    same_chrom = chrom_index[1:] == chrom_index[:-1]
    return int(np.count_nonzero(same_chrom & (np.diff(starts) < span)))


def check_no_leak(spec: SplitSpec, chrom_index: np.ndarray, starts: np.ndarray, length: int,
                  flank: int) -> dict[str, Any]:
    """Refuse a random split whose X rows share bases (overlapping windows, or flanks).

    Under a random split, two rows whose spans overlap can land in different splits and
    share sequence: the model is then tested on bases it trained on. The chromosome and
    blocks methods cannot leak (blocks drop the rows that cross a block boundary).

    Returns
    -------
    dict
        What was checked, for the manifest.

    Raises
    ------
    InputError
        When ``spec.method`` is ``random`` and some neighbouring spans overlap.
    """
    span = length + 2 * flank
    pairs = shared_base_pairs(chrom_index, starts, span)
    if spec.method == "random" and pairs:
        raise InputError(
            f"split.method 'random': {pairs} pairs of neighbouring windows share bases (each X row "
            f"spans {span} bp: windows.length {length} + 2 x windows.flank {flank}), so the same "
            "bases would land in train and test. Use split.method: blocks (or chromosome), or "
            "non-overlapping windows with windows.flank: 0")
    return {"checked": True, "method": spec.method, "row_span_bp": span,
            "neighbour_pairs_sharing_bases": pairs,
            "leak_free": True if spec.method != "random" else pairs == 0}


@dataclass
class LabelledWindows:
    """All labelled windows, concatenated over chromosomes in config order."""

    chroms: list[str]
    chrom_index: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    per_chrom: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, chroms: Sequence[str], label_files: Sequence[os.PathLike | str]) -> "LabelledWindows":
        """Gather the labels step's files, one per chromosome, in ``chroms`` order."""
        if len(chroms) != len(label_files):
            raise InputError(f"{len(chroms)} chromosomes but {len(label_files)} labels files: "
                             "give one labels file per chromosome")
        pieces_index, pieces_start, pieces_label = [], [], []
        per_chrom = {}
        for index, (chrom, path) in enumerate(zip(chroms, label_files)):
            archive = read_arrays(path)
            starts, labels = archive[keys.STARTS], archive[keys.LABELS]
            per_chrom[chrom] = {"considered": int(archive[keys.CONSIDERED]),
                                "peaks": int(archive[keys.PEAKS]), "dropped": read_drops(archive)}
            pieces_index.append(np.full(len(starts), index, dtype=np.int32))
            pieces_start.append(starts)
            pieces_label.append(labels)
        return cls(list(chroms), np.concatenate(pieces_index), np.concatenate(pieces_start),
                   np.concatenate(pieces_label), per_chrom)

    def count_by_chrom(self, mask: np.ndarray, reason: str) -> None:
        """Record, per chromosome, how many rows ``mask`` drops for ``reason``."""
        for index, chrom in enumerate(self.chroms):
            self.per_chrom[chrom]["dropped"][reason] = int(np.count_nonzero(mask & (self.chrom_index == index)))


def assign_splits(windows: LabelledWindows, spec: SplitSpec, length: int, flank: int) -> np.ndarray:
    """Split index per window, or :data:`DROPPED` for windows dropped at block boundaries."""
    names = np.array(windows.chroms, dtype=str)[windows.chrom_index]
    if spec.method == "random":
        return random_split(windows.labels, spec.fractions, spec.seed)
    if spec.method == "chromosome":
        unknown = sorted(set(spec.valid + spec.test) - set(windows.chroms))
        if unknown:
            raise InputError(f"config split: held-out chromosome(s) {unknown} are not among "
                             f"chromosomes {windows.chroms}. Add them to 'chromosomes'")
        return chromosome_split(names, spec.valid, spec.test)
    assignment = block_split(names, windows.starts, spec.block_size, spec.fractions, spec.seed)
    crossing = crosses_block(windows.starts, -flank, length + flank, spec.block_size)
    assignment[crossing] = DROPPED
    windows.count_by_chrom(crossing, BLOCK_BOUNDARY)
    return assignment


def downsample_negatives(windows: LabelledWindows, assignment: np.ndarray, spec: SplitSpec) -> None:
    """Keep a seeded ``negative_fraction`` of the negatives of train and valid (test stays
    whole, so evaluation sees the real class balance); mark the others dropped and count them."""
    if spec.negative_fraction >= 1.0:
        return
    rng = np.random.default_rng([spec.seed, 1])
    dropped = np.zeros(len(assignment), dtype=bool)
    for value in (TRAIN, VALID):
        negatives = np.flatnonzero((assignment == value) & (windows.labels == 0))
        dropped[negatives[rng.random(len(negatives)) >= spec.negative_fraction]] = True
    assignment[dropped] = DROPPED
    windows.count_by_chrom(dropped, NEGATIVE_DOWNSAMPLING)


def split_windows(chroms: Sequence[str], label_files: Sequence[os.PathLike | str],
                  out: os.PathLike | str, *, length: int, flank: int = 0,
                  split: SplitSpec = SplitSpec(), weights: str = "balanced") -> dict[str, Any]:
    """Assign every labelled window to a split and weight it; write the split table (.npz).

    Parameters
    ----------
    chroms, label_files : the chromosomes, in config order, and their labels step files.
    out : the split table to write (see :mod:`tfbinding.intermediates`).
    length, flank : window length and flank in bp (the leak check uses both).
    split : how to split (default: random 0.8 / 0.1 / 0.1, seed 0).
    weights : ``"balanced"`` (default) or ``"none"``.

    Returns
    -------
    dict
        The per-chromosome summary (counts and drops by reason).

    Raises
    ------
    InputError
        For an unknown weights mode, a split that would leak (see :func:`check_no_leak`),
        or a split left empty.
    """
    check_choice(weights, WEIGHTS_MODES, "weights")
    windows = LabelledWindows.read(chroms, label_files)
    leak_check = check_no_leak(split, windows.chrom_index, windows.starts, length, flank)
    assignment = assign_splits(windows, split, length, flank)
    downsample_negatives(windows, assignment, split)
    for value, name in enumerate(SPLITS):
        if not np.any(assignment == value):
            raise InputError(f"split {name!r} is empty: {len(assignment)} windows, {split}. "
                             "Give more chromosomes or windows, or change 'split'")
    spec = {**asdict(split), "weights": weights, "leak_check": leak_check}
    save_npz(out, **{
        keys.CHROMS: np.array(windows.chroms, dtype=str), keys.CHROM_INDEX: windows.chrom_index,
        keys.STARTS: windows.starts, keys.LABELS: windows.labels, keys.SPLIT: assignment,
        keys.WEIGHTS: split_weights(windows.labels, assignment, weights, split.negative_fraction),
        keys.LENGTH: np.int64(length), keys.FLANK: np.int64(flank),
        keys.PER_CHROM: np.array(json.dumps(windows.per_chrom, sort_keys=True)),
        keys.SPEC: np.array(json.dumps(spec, sort_keys=True))})
    return windows.per_chrom
