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

from tfbinding import layout as keys
from tfbinding.atomic import save_npz
from tfbinding.config import SPLIT_METHODS, WEIGHTS_MODES, check_choice
from tfbinding.data.weights import split_weights, task_weights
from tfbinding.errors import InputError
from tfbinding.layout import SPLITS, read_drops

log = logging.getLogger(__name__)

TRAIN, VALID, TEST = 0, 1, 2
DROPPED = -1
BLOCK_BOUNDARY = "block_boundary"
NEGATIVE_DOWNSAMPLING = "negative_downsampling"
GC_MATCHING = "gc_matching"
NEGATIVE_MODES = ("all", "gc_matched")


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
    negatives : ``"all"`` (default) or ``"gc_matched"``: in train and valid, keep per G+C
        bin ``gc_ratio`` x as many negatives as positives (seeded), so that the negatives'
        G+C distribution matches the positives' (G+C of the window, flanks excluded).
    gc_bin_width : width of the G+C bins (default 0.05; bins ``[0, w), [w, 2w), ...``, the
        last one closed at 1).
    gc_ratio : negatives kept per positive in each bin (default 1.0).
    gc_match_test : match the test split too (default False: test stays whole).

    Raises
    ------
    InputError
        For an unknown method or negatives mode, fractions that are not three numbers in
        [0, 1] summing to 1, a chromosome in both valid and test, a fraction, size, bin
        width or ratio out of range, or ``gc_matched`` with ``negative_fraction`` < 1;
        ``folds`` below 3, with the random method, with held-out chromosomes or with
        negatives dropped.
    """

    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    valid: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    block_size: int = 1_000_000
    negative_fraction: float = 1.0
    negatives: str = "all"
    gc_bin_width: float = 0.05
    gc_ratio: float = 1.0
    gc_match_test: bool = False
    folds: int | None = None

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
        check_choice(self.negatives, NEGATIVE_MODES, "split.negatives")
        if not 0.0 < self.gc_bin_width <= 1.0:
            raise InputError(f"split.gc_bin_width: {self.gc_bin_width} must be in (0, 1]")
        if not self.gc_ratio > 0.0 or not math.isfinite(self.gc_ratio):
            raise InputError(f"split.gc_ratio: {self.gc_ratio} must be a positive number")
        if self.negatives == "gc_matched" and self.negative_fraction < 1.0:
            raise InputError(f"split: negatives 'gc_matched' and negative_fraction "
                             f"{self.negative_fraction} both drop negatives; use one of them "
                             "(gc_ratio sets how many negatives GC matching keeps)")
        if self.gc_match_test and self.negatives != "gc_matched":
            raise InputError("split.gc_match_test: true needs split.negatives: gc_matched")
        if self.folds is not None:
            self._check_folds()

    def _check_folds(self) -> None:
        if int(self.folds) != self.folds or self.folds < 3:
            raise InputError(f"split.folds: {self.folds} must be an integer of at least 3 (each fold "
                             "needs a test part, a validation part and a training part)")
        if self.method == "random":
            raise InputError(
                "split.folds needs split.method: blocks or chromosome. A random assignment puts the "
                "adjacent windows of one peak (and overlapping flanks) into different folds, so each "
                "test fold would share peaks and bases with its training folds")
        if self.valid or self.test:
            raise InputError("split.folds: fold k tests on part k and validates on part k+1; "
                             "remove split.valid and split.test")
        if self.negative_fraction < 1.0 or self.negatives != "all":
            raise InputError("split.folds: every part is a test part once and a training part in "
                             "other folds, so negatives cannot be dropped from training only; "
                             "remove split.negative_fraction and split.negatives with folds")


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
    ``fractions`` of the blocks.
    """
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
    gc: np.ndarray | None = None
    tasks: list[str] | None = None

    @property
    def any_positive(self) -> np.ndarray:
        """1 where a window is positive for some task, else 0 (uint8): the class that
        stratifies the split, downsampling and GC matching. With one task, its labels.
        """
        if self.labels.ndim == 1:
            return self.labels
        return np.any(self.labels == 1, axis=1).astype(np.uint8)

    @classmethod
    def read(cls, chroms: Sequence[str], label_files: Sequence[os.PathLike | str]) -> "LabelledWindows":
        """Gather the labels step's files, one per chromosome, in ``chroms`` order."""
        if len(chroms) != len(label_files):
            raise InputError(f"{len(chroms)} chromosomes but {len(label_files)} labels files: "
                             "give one labels file per chromosome")
        pieces_start, pieces_label, pieces_gc = [], [], []
        per_chrom = {}
        tasks = None
        for index, (chrom, path) in enumerate(zip(chroms, label_files)):
            # memory maps: the columns are read once, by the concatenations below
            archive = keys.npz_memmaps(path)
            starts, labels = archive[keys.STARTS], archive[keys.LABELS]
            mine = archive[keys.TASKS].tolist() if keys.TASKS in archive else None
            if index and mine != tasks:
                raise InputError(f"{path}: tasks {mine}, but {label_files[0]} has {tasks}; "
                                 "delete the labels files and rerun")
            tasks = mine
            peaks = archive[keys.PEAKS]
            per_chrom[chrom] = {"considered": int(archive[keys.CONSIDERED]),
                                "peaks": peaks.tolist() if peaks.ndim else int(peaks),
                                "dropped": read_drops(archive)}
            pieces_start.append(starts)
            pieces_label.append(labels)
            pieces_gc.append(archive.get(keys.GC))
        gc = None if any(piece is None for piece in pieces_gc) else np.concatenate(pieces_gc)
        chrom_index = np.repeat(np.arange(len(pieces_start), dtype=np.int32),
                                [len(piece) for piece in pieces_start])
        return cls(list(chroms), chrom_index, np.concatenate(pieces_start),
                   np.concatenate(pieces_label), per_chrom, gc, tasks)

    def count_by_chrom(self, mask: np.ndarray, reason: str) -> None:
        """Record, per chromosome, how many rows ``mask`` drops for ``reason``."""
        counts = np.bincount(self.chrom_index[mask], minlength=len(self.chroms))
        for index, chrom in enumerate(self.chroms):
            self.per_chrom[chrom]["dropped"][reason] = int(counts[index])


def assign_splits(windows: LabelledWindows, spec: SplitSpec, length: int, flank: int) -> np.ndarray:
    """Split index per window, or :data:`DROPPED` for windows dropped at block boundaries."""
    if spec.method == "random":
        return random_split(windows.any_positive, spec.fractions, spec.seed)
    if spec.method == "chromosome":
        unknown = sorted(set(spec.valid + spec.test) - set(windows.chroms))
        if unknown:
            raise InputError(f"config split: held-out chromosome(s) {unknown} are not among "
                             f"chromosomes {windows.chroms}. Add them to 'chromosomes'")
        # per chromosome, then per row: no (N,) array of names
        return chromosome_split(np.array(windows.chroms, dtype=str), spec.valid,
                                spec.test)[windows.chrom_index]
    names = np.array(windows.chroms, dtype=str)[windows.chrom_index]
    assignment = block_split(names, windows.starts, spec.block_size, spec.fractions, spec.seed)
    crossing = crosses_block(windows.starts, -flank, length + flank, spec.block_size)
    assignment[crossing] = DROPPED
    windows.count_by_chrom(crossing, BLOCK_BOUNDARY)
    return assignment


def chromosome_folds(chroms: Sequence[str], chrom_index: np.ndarray, folds: int) -> tuple[np.ndarray, list]:
    """Whole chromosomes dealt into ``folds`` parts, balanced by windows: the chromosomes
    from most to fewest windows (ties in config order), each to the part that holds the
    fewest windows so far (ties: the lowest part). Deterministic.

    Returns
    -------
    (numpy.ndarray, list)
        The part of each window, and each part's chromosomes (config order).
    """
    if len(chroms) < folds:
        raise InputError(f"split.folds {folds} with method 'chromosome' needs at least {folds} "
                         f"chromosomes; {len(chroms)} given ({', '.join(chroms)})")
    counts = np.bincount(chrom_index, minlength=len(chroms))
    load = np.zeros(folds, dtype=np.int64)
    part_of = np.empty(len(chroms), dtype=np.int8)
    for index in sorted(range(len(chroms)), key=lambda i: (-counts[i], i)):
        part_of[index] = int(np.argmin(load))
        load[part_of[index]] += counts[index]
    members = [[chrom for i, chrom in enumerate(chroms) if part_of[i] == k] for k in range(folds)]
    return part_of[chrom_index].astype(np.int8), members


def block_folds(chroms: np.ndarray, starts: np.ndarray, positive: np.ndarray, kept: np.ndarray,
                block_size: int, folds: int, seed: int) -> tuple[np.ndarray, list]:
    """Blocks of ``block_size`` bp dealt into ``folds`` parts, balanced by positives.

    The blocks are shuffled with ``seed``, stably ordered by their kept positives (most
    first), then dealt in a snake (0 .. K-1, K-1 .. 0, ...), so that every part gets a
    near-equal share of the positives and a random share of the rest. Deterministic.

    Returns
    -------
    (numpy.ndarray, list)
        The part of each window, and each part's blocks as ``chrom:start-end``.
    """
    blocks = block_ids(chroms, starts, block_size)
    n_blocks = int(blocks.max(initial=-1)) + 1
    if n_blocks < folds:
        raise InputError(f"split.folds {folds}: the windows fall into {n_blocks} blocks of "
                         f"{block_size:,} bp; use a smaller split.block_size or fewer folds")
    positives = np.bincount(blocks[kept], weights=positive[kept], minlength=n_blocks)
    order = np.random.default_rng(seed).permutation(n_blocks)
    order = order[np.argsort(-positives[order], kind="stable")]
    rank = np.arange(n_blocks)
    lap, place = np.divmod(rank, folds)
    part_of = np.empty(n_blocks, dtype=np.int8)
    part_of[order] = np.where(lap % 2 == 0, place, folds - 1 - place)
    first_row = np.unique(blocks, return_index=True)[1]
    names = [f"{chroms[row]}:{starts[row] // block_size * block_size}-"
             f"{(starts[row] // block_size + 1) * block_size}" for row in first_row]
    members = [[names[b] for b in range(n_blocks) if part_of[b] == k] for k in range(folds)]
    return part_of[blocks], members


def assign_folds(windows: LabelledWindows, spec: SplitSpec, length: int,
                 flank: int) -> tuple[np.ndarray, list]:
    """The part (0 .. K-1) of each window, or :data:`DROPPED` for windows dropped at block
    boundaries, and each part's chromosomes or blocks.
    """
    names = np.array(windows.chroms, dtype=str)[windows.chrom_index]
    if spec.method == "chromosome":
        return chromosome_folds(windows.chroms, windows.chrom_index, spec.folds)
    crossing = crosses_block(windows.starts, -flank, length + flank, spec.block_size)
    parts, members = block_folds(names, windows.starts, windows.any_positive, ~crossing,
                                 spec.block_size, spec.folds, spec.seed)
    parts[crossing] = DROPPED
    windows.count_by_chrom(crossing, BLOCK_BOUNDARY)
    return parts, members


def check_parts_leak(chrom_index: np.ndarray, starts: np.ndarray, parts: np.ndarray, length: int,
                     flank: int) -> dict[str, Any]:
    """Refuse parts whose X rows share bases: any two kept rows whose real spans
    ``[start - flank, start + length + flank)`` overlap must be in the same part.

    Rows are ordered by chromosome, then start, and all spans have one length, so checking
    each pair of neighbouring kept rows covers every overlapping pair. Every fold's train,
    valid and test are unions of parts, so no fold shares a base between them.

    Raises
    ------
    InputError
        When two overlapping spans are in different parts.
    """
    span = length + 2 * flank
    kept = np.flatnonzero(parts != DROPPED)
    index, begin, part = chrom_index[kept], starts[kept], parts[kept]
    overlapping = (index[1:] == index[:-1]) & (np.diff(begin) < span)
    across = int(np.count_nonzero(overlapping & (part[1:] != part[:-1])))
    if across:
        raise InputError(f"split.folds: {across} pairs of windows whose {span}-bp spans overlap are in "
                         "different parts; use a larger split.block_size")
    return {"checked": True, "row_span_bp": span,
            "neighbour_pairs_sharing_bases": int(np.count_nonzero(overlapping)),
            "pairs_sharing_bases_across_parts": across, "leak_free": True,
            "rule": "kept rows whose spans [start - flank, end + flank) overlap are in the same part"}


def fold_weights(labels: np.ndarray, parts: np.ndarray, folds: int, mode: str) -> np.ndarray:
    """Each fold's weights, computed within its train, valid and test: (K, N) or (K, N, T)."""
    rows = []
    for fold in range(folds):
        assignment = np.full(len(parts), DROPPED, dtype=np.int8)
        for value, name in enumerate(SPLITS):
            assignment[np.isin(parts, keys.fold_parts(fold, folds)[name])] = value
        rows.append(split_weights(labels, assignment, mode) if labels.ndim == 1
                    else task_weights(labels, assignment, mode))
    return np.stack(rows)


def downsample_negatives(windows: LabelledWindows, assignment: np.ndarray, spec: SplitSpec) -> None:
    """Keep a seeded ``negative_fraction`` of the negatives of train and valid (test stays
    whole, so evaluation sees the real class balance); mark the others dropped and count them.
    """
    if spec.negative_fraction >= 1.0:
        return
    rng = np.random.default_rng([spec.seed, 1])
    dropped = np.zeros(len(assignment), dtype=bool)
    for value in (TRAIN, VALID):
        negatives = np.flatnonzero((assignment == value) & (windows.any_positive == 0))
        dropped[negatives[rng.random(len(negatives)) >= spec.negative_fraction]] = True
    assignment[dropped] = DROPPED
    windows.count_by_chrom(dropped, NEGATIVE_DOWNSAMPLING)


def gc_bins(gc: np.ndarray, width: float) -> np.ndarray:
    """The bin of each G+C fraction: ``[0, w), [w, 2w), ...``; 1.0 falls in the last bin."""
    n_bins = int(math.ceil(1.0 / width - 1e-9))
    return np.minimum((np.asarray(gc, dtype=np.float64) / width + 1e-9).astype(np.int64), n_bins - 1)


def gc_match_negatives(windows: LabelledWindows, assignment: np.ndarray,
                       spec: SplitSpec) -> dict[str, Any] | None:
    """Keep, per G+C bin and split, ``gc_ratio`` x as many negatives as positives.

    In train and valid (and test with ``gc_match_test``), the negatives of each bin are
    shuffled (seeded with ``[seed, 2]``) and the first ``round(gc_ratio * positives)`` kept
    (all when fewer); the others are marked dropped and counted per chromosome as
    ``gc_matching``. A positive is a window positive for some task.

    Returns
    -------
    dict or None
        None unless ``spec.negatives`` is ``gc_matched``; else the bin edges and, per split,
        the positives, negatives available, kept and dropped per bin (for the manifest).

    Raises
    ------
    InputError
        When the labels files carry no G+C fractions (made by an older version).
    """
    if spec.negatives != "gc_matched":
        return None
    if windows.gc is None or np.isnan(windows.gc).any():
        raise InputError("split.negatives 'gc_matched': the labels files carry no G+C fraction "
                         "(written by an older version); delete results/<name>/chromosomes and rerun")
    bins = gc_bins(windows.gc, spec.gc_bin_width)
    n_bins = int(math.ceil(1.0 / spec.gc_bin_width - 1e-9))
    positive = windows.any_positive != 0
    rng = np.random.default_rng([spec.seed, 2])
    dropped = np.zeros(len(assignment), dtype=bool)
    by_split: dict[str, Any] = {}
    matched = (TRAIN, VALID, TEST) if spec.gc_match_test else (TRAIN, VALID)
    for value in matched:
        rows = assignment == value
        positives = np.bincount(bins[rows & positive], minlength=n_bins)
        negatives = np.flatnonzero(rows & ~positive)
        available = np.bincount(bins[negatives], minlength=n_bins)
        wanted = np.minimum(np.round(spec.gc_ratio * positives).astype(np.int64), available)
        shuffled = rng.permutation(negatives)
        # rank of each shuffled negative within its bin: keep those below the bin's quota
        order = np.argsort(bins[shuffled], kind="stable")
        in_bin = bins[shuffled][order]
        first = np.searchsorted(in_bin, np.arange(n_bins))
        rank = np.empty(len(shuffled), dtype=np.int64)
        rank[order] = np.arange(len(shuffled)) - first[in_bin]
        dropped[shuffled[rank >= wanted[bins[shuffled]]]] = True
        by_split[SPLITS[value]] = {"positives": positives.tolist(), "negatives": available.tolist(),
                                   "kept": wanted.tolist(), "dropped": (available - wanted).tolist()}
    assignment[dropped] = DROPPED
    windows.count_by_chrom(dropped, GC_MATCHING)
    edges = [round(min(i * spec.gc_bin_width, 1.0), 10) for i in range(n_bins + 1)]
    return {"gc_of": "window (flanks excluded): G+C over A/C/G/T bases", "bin_edges": edges,
            "ratio": spec.gc_ratio, "seed": [spec.seed, 2], "by_split": by_split}


def split_windows(chroms: Sequence[str], label_files: Sequence[os.PathLike | str],
                  out: os.PathLike | str, *, length: int, flank: int = 0,
                  split: SplitSpec = SplitSpec(), weights: str = "balanced") -> dict[str, Any]:
    """Assign every labelled window to a split and weight it; write the split table (.npz).

    Parameters
    ----------
    chroms, label_files : the chromosomes, in config order, and their labels step files.
    out : the split table to write (see :mod:`tfbinding.layout`).
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
    if split.folds:
        return _split_folds(windows, out, length, flank, split, weights)
    leak_check = check_no_leak(split, windows.chrom_index, windows.starts, length, flank)
    assignment = assign_splits(windows, split, length, flank)
    downsample_negatives(windows, assignment, split)
    gc_matching = gc_match_negatives(windows, assignment, split)
    for value, name in enumerate(SPLITS):
        if not np.any(assignment == value):
            raise InputError(f"split {name!r} is empty: {len(assignment)} windows, {split}. "
                             "Give more chromosomes or windows, or change 'split'")
    spec = {**asdict(split), "weights": weights, "leak_check": leak_check}
    del spec["folds"]  # one split: the spec (and manifest) as before folds existed
    if gc_matching is not None:
        spec["gc_matching"] = gc_matching
    if windows.labels.ndim == 1:
        # computed after every selection: the weights follow the kept windows
        weight_array = split_weights(windows.labels, assignment, weights, split.negative_fraction)
    else:
        weight_array = task_weights(windows.labels, assignment, weights, split.negative_fraction)
    _save_table(out, windows, assignment, weight_array, length, flank, spec)
    return windows.per_chrom


def _save_table(out, windows: LabelledWindows, assignment: np.ndarray, weight_array: np.ndarray,
                length: int, flank: int, spec: dict, **extra) -> None:
    if windows.gc is not None:
        extra[keys.GC] = windows.gc
    if windows.tasks is not None:
        extra[keys.TASKS] = np.array(windows.tasks, dtype=str)
    save_npz(out, **{
        keys.CHROMS: np.array(windows.chroms, dtype=str), keys.CHROM_INDEX: windows.chrom_index,
        keys.STARTS: windows.starts, keys.LABELS: windows.labels, keys.SPLIT: assignment,
        keys.WEIGHTS: weight_array, keys.LENGTH: np.int64(length), keys.FLANK: np.int64(flank),
        keys.PER_CHROM: np.array(json.dumps(windows.per_chrom, sort_keys=True)),
        keys.SPEC: np.array(json.dumps(spec, sort_keys=True))}, **extra)


def _split_folds(windows: LabelledWindows, out, length: int, flank: int, split: SplitSpec,
                 weights: str) -> dict[str, Any]:
    """:func:`split_windows` with ``split.folds``: the split table holds each window's part
    (:data:`tfbinding.layout.FOLDS`), and one row of weights per fold.
    """
    parts, members = assign_folds(windows, split, length, flank)
    leak_check = check_parts_leak(windows.chrom_index, windows.starts, parts, length, flank)
    for part in range(split.folds):
        if not np.any(parts == part):
            raise InputError(f"split.folds: part {part} of {split.folds} holds no window; give more "
                             "chromosomes or blocks, or fewer folds")
    spec = {**asdict(split), "weights": weights, "leak_check": leak_check,
            "parts": [{"part": k, ("chromosomes" if split.method == "chromosome" else "blocks"): member}
                      for k, member in enumerate(members)]}
    del spec["fractions"]
    weight_array = fold_weights(windows.labels, parts, split.folds, weights)
    _save_table(out, windows, parts, weight_array, length, flank, spec,
                **{keys.FOLDS: np.int64(split.folds)})
    return windows.per_chrom
