"""Assign windows to train / valid / test."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import InputError

SPLITS = ("train", "valid", "test")
TRAIN, VALID, TEST = 0, 1, 2
BLOCK_BOUNDARY = "block_boundary"


def _counts(total: int, fractions: list[float]) -> tuple[int, int]:
    n_train = int(round(fractions[0] * total))
    n_valid = min(int(round(fractions[1] * total)), total - n_train)
    return n_train, n_valid


def random_split(labels: np.ndarray, fractions: list[float], seed: int) -> np.ndarray:
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


def chromosome_split(chroms: np.ndarray, valid: list[str], test: list[str]) -> np.ndarray:
    """Whole chromosomes held out: ``valid`` and ``test`` name them, the rest train."""
    overlap = set(valid) & set(test)
    if overlap:
        raise InputError(f"split: chromosome(s) {sorted(overlap)} are in both valid and test")
    assignment = np.full(len(chroms), TRAIN, dtype=np.int8)
    assignment[np.isin(chroms, valid)] = VALID
    assignment[np.isin(chroms, test)] = TEST
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


def block_split(chroms: np.ndarray, starts: np.ndarray, block_size: int, fractions: list[float],
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


def rows_for_chrom(table: Mapping[str, np.ndarray], chrom: str, split: int) -> np.ndarray:
    """Rows of the split table that belong to ``chrom`` and go to ``split``, by start."""
    index = int(np.flatnonzero(table["chroms"] == chrom)[0])
    return np.flatnonzero((table["chrom_index"] == index) & (table["split"] == split))
