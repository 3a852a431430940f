"""The ``insilico`` step: in-silico experiments that show what a model learned about the
factor's binding rules, on background sequences the step draws itself.

Three experiments, after tangermeme's (``marginalize.py``, ``space.py``, ``ablate.py``):

**marginalization**
    Insert a motif's consensus at the centre of every background sequence and score the
    sequences before and after: the mean change of the score is the motif's marginal
    effect (with a bootstrap interval over the backgrounds). The motifs are the factor's
    JASPAR matrix (the config's ``motif``) and each pattern TF-MoDISco found
    (``patterns.npz`` of :mod:`tfbinding.interpret.discover_motifs`); ranked by effect.
**spacing and orientation**
    Insert two motifs with a gap of 0 to ``max_spacing`` bp between the end of the first
    and the start of the second (tangermeme's ``spacing``), in each relative orientation
    (``++``, ``+-``, ``-+``, ``--``; ``-`` is the reverse complement), the arrangement
    centred in the sequence; the mean change of the score against the gap is the
    cooperativity curve, and ``excess`` is that change minus the two motifs' marginal
    effects (> 0: more than additive).
**ablation**
    In the explained positive windows (``attributions.npz``), replace each pattern's seqlets
    (all of them in a window at once) by the same positions of background sequences and
    score the drop (before minus after, averaged over ``ablations`` backgrounds); the
    ``control_drop`` replaces spans of the same widths at random places of the same window
    that avoid every seqlet. The factor's matrix is ablated the same way at its best match
    in each window (relative score ≥ ``MATCH_RELATIVE_SCORE``).

Positions: 0-based within the model's input row (flanks included); a motif of width
``w`` inserted "at the centre" of a row of length ``L`` starts at ``L // 2 - w // 2``, as
in tangermeme.

The score is the one :mod:`tfbinding.interpret.explain` explains: the model's logit,
averaged over both strands where the model predicts so (``improved``).

Backgrounds (``background``): ``shuffled`` (default) takes a seeded sample of the dataset's
negative windows without N and shuffles each one preserving its dinucleotide counts
(Altschul-Erickson, :func:`dinucleotide_shuffle`); ``negatives`` takes negative windows as
they are, leaving out those with a match of the factor's matrix. Everything random draws
from one ``numpy.random.default_rng(seed)``: the same inputs and seed give the same
tables, byte for byte.

When ``patterns.npz`` holds no pattern, the experiments run on the factor's matrix alone,
and the summary's ``notes`` say so; with neither a matrix nor a pattern the tables are
written empty, with the reason.

Outputs (one folder, each file atomically): ``marginalization.tsv``, ``spacing.tsv``,
``ablation.tsv``, ``marginalization.png``, ``spacing.png``, ``ablation.png`` and
``insilico.json`` (parameters, motifs, the ranking, the preferred spacings, the ablation
drops, notes, timings).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tfbinding.atomic import atomic_path, save_json
from tfbinding.errors import InputError

log = logging.getLogger(__name__)

BASES = "ACGT"
ORIENTATIONS = ("++", "+-", "-+", "--")
BACKGROUND_MODES = ("shuffled", "negatives")
#: a matrix "matches" where its log-odds reach this fraction of the way from its lowest to
#: its highest possible score (TFBSTools' and many scanners' customary 80%)
MATCH_RELATIVE_SCORE = 0.8
MARGINAL_COLUMNS = ("rank", "motif", "source", "sequence", "width", "start", "backgrounds",
                    "mean_before", "mean_after", "mean_delta", "ci_low", "ci_high")
SPACING_COLUMNS = ("motif_a", "motif_b", "orientation", "spacing", "start_a", "start_b",
                   "backgrounds", "mean_delta", "ci_low", "ci_high", "excess")
ABLATION_COLUMNS = ("motif", "source", "windows", "seqlets", "mean_before", "mean_after",
                    "mean_drop", "ci_low", "ci_high", "control_drop", "control_ci_low",
                    "control_ci_high")

ScoreFunction = Callable[[np.ndarray], np.ndarray]


@dataclass
class Motif:
    """A motif the experiments insert or ablate.

    Attributes
    ----------
    name : str
        ``pattern_<k>`` or the matrix's name (e.g. ``MA0491.3 JUND``).
    source : str
        ``factor matrix`` or ``TF-MoDISco pattern`` (or what found it).
    sequence : str
        The consensus inserted: the most likely base of each position.
    seqlets : numpy.ndarray
        ``(k, 3)`` int64: window row (of ``attributions.npz``), start, end; the spans
        ablated. Empty when the motif is not ablated.
    """

    name: str
    source: str
    sequence: str
    seqlets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))

    @property
    def width(self) -> int:
        return len(self.sequence)


# ---------------------------------------------------------------------------------------
# sequences


def one_hot_encode(sequence: str) -> np.ndarray:
    """``(w, 4)`` uint8 one-hot of an A/C/G/T string (other letters: all-zero rows)."""
    text = np.frombuffer(sequence.upper().encode("ascii"), dtype=np.uint8)
    return (text[:, None] == np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)[None]).astype(np.uint8)


def reverse_complement(one_hot: np.ndarray) -> np.ndarray:
    """The reverse complement of one-hot rows ``(..., w, 4)`` (A, C, G, T order)."""
    return one_hot[..., ::-1, ::-1]


def consensus(ppm: np.ndarray) -> str:
    """The most likely base of each row of a ``(w, 4)`` letter-probability matrix."""
    return "".join(BASES[i] for i in np.asarray(ppm).argmax(axis=1))


def dinucleotide_shuffle(one_hot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random sequence with exactly the dinucleotide counts of ``one_hot`` ``(L, 4)``,
    the same first and last base (Altschul & Erickson 1985, the Eulerian-walk method).

    The window must have no N (all-zero) row.
    """
    one_hot = np.asarray(one_hot)
    if not one_hot.any(axis=1).all():
        raise InputError("dinucleotide_shuffle: the sequence has N rows; give a sequence of A, C, G, T only")
    seq = one_hot.argmax(axis=1)
    if len(seq) < 3:
        return one_hot.copy()
    # the successors of each base, in order
    edges = [list(seq[1:][seq[:-1] == base]) for base in range(4)]
    last = int(seq[-1])
    present = [base for base in range(4) if edges[base]]
    while True:
        # a random last edge out of every base but the final one, forming a tree into it
        last_edge = {base: edges[base][rng.integers(len(edges[base]))] for base in present if base != last}
        if all(_reaches(base, last, last_edge) for base in last_edge):
            break
    walks = {}
    for base in present:
        out = list(edges[base])
        if base in last_edge:
            out.remove(last_edge[base])
            order = rng.permutation(len(out))
            walks[base] = [out[i] for i in order] + [last_edge[base]]
        else:
            order = rng.permutation(len(out))
            walks[base] = [out[i] for i in order]
    position = {base: 0 for base in present}
    result = [int(seq[0])]
    for _ in range(len(seq) - 1):
        current = result[-1]
        result.append(int(walks[current][position[current]]))
        position[current] += 1
    return np.eye(4, dtype=one_hot.dtype)[result]


def _reaches(start: int, target: int, last_edge: dict[int, int]) -> bool:
    seen = set()
    base = start
    while base != target:
        if base in seen:
            return False
        seen.add(base)
        base = last_edge[base]
    return True


def insert(X: np.ndarray, motif: np.ndarray, start: int) -> np.ndarray:
    """A copy of ``X`` ``(n, L, 4)`` with rows ``[start, start + w)`` replaced by ``motif`` ``(w, 4)``."""
    width = len(motif)
    if not 0 <= start <= X.shape[1] - width:
        raise InputError(f"a motif of {width} bp does not fit at position {start} of a {X.shape[1]}-bp sequence")
    out = np.array(X, copy=True)
    out[:, start:start + width] = motif
    return out


def centre_start(length: int, width: int) -> int:
    """Where a motif of ``width`` bp starts when centred in ``length`` bp (tangermeme's rule)."""
    return length // 2 - width // 2


def pair_starts(length: int, width_a: int, width_b: int, spacing: int) -> tuple[int, int]:
    """Starts of two motifs ``spacing`` bp apart (end of the first to start of the second),
    the whole arrangement centred in ``length`` bp.
    """
    first = centre_start(length, width_a + spacing + width_b)
    return first, first + width_a + spacing


def oriented(motif: np.ndarray, strand: str) -> np.ndarray:
    """``motif`` for ``+``, its reverse complement for ``-``."""
    return motif if strand == "+" else reverse_complement(motif)


def bootstrap_interval(values: np.ndarray, rng: np.random.Generator, resamples: int = 1000,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (its ``level`` central part)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan")
    if resamples <= 0 or len(values) == 1:
        mean = float(values.mean())
        return mean, mean
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


# ---------------------------------------------------------------------------------------
# the experiments (pure: a score function and arrays in, rows out)


def marginalize(score: ScoreFunction, backgrounds: np.ndarray, motifs: Sequence[Motif],
                rng: np.random.Generator, resamples: int = 1000) -> list[dict]:
    """Each motif's consensus inserted at the centre of every background; rows ranked by
    mean change of the score (largest first).

    Parameters
    ----------
    score : callable
        ``(n, L, 4)`` one-hot to ``(n,)`` scores.
    backgrounds : array (n, L, 4)
    motifs : sequence of Motif
    rng : numpy.random.Generator
        For the bootstrap intervals.
    resamples : int, default 1000
        Bootstrap resamples (0: the interval is the mean itself).

    Returns
    -------
    list of dict
        One row per motif, keys :data:`MARGINAL_COLUMNS`.
    """
    before = np.asarray(score(backgrounds), dtype=np.float64)
    length = backgrounds.shape[1]
    rows = []
    for motif in motifs:
        start = centre_start(length, motif.width)
        after = np.asarray(score(insert(backgrounds, one_hot_encode(motif.sequence), start)), dtype=np.float64)
        delta = after - before
        low, high = bootstrap_interval(delta, rng, resamples)
        rows.append({"motif": motif.name, "source": motif.source, "sequence": motif.sequence,
                     "width": motif.width, "start": start, "backgrounds": len(delta),
                     "mean_before": float(before.mean()), "mean_after": float(after.mean()),
                     "mean_delta": float(delta.mean()), "ci_low": low, "ci_high": high})
    rows.sort(key=lambda row: -row["mean_delta"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def max_spacing_that_fits(length: int, width_a: int, width_b: int, max_spacing: int) -> int:
    """The largest gap up to ``max_spacing`` at which both motifs fit in ``length`` bp."""
    return min(max_spacing, length - width_a - width_b)


def space(score: ScoreFunction, backgrounds: np.ndarray, motif_a: Motif, motif_b: Motif,
          spacings: Sequence[int], rng: np.random.Generator, orientations: Sequence[str] = ORIENTATIONS,
          resamples: int = 1000, marginal: dict[str, float] | None = None) -> list[dict]:
    """The change of the score with ``motif_a`` and ``motif_b`` both inserted, ``spacing`` bp
    apart, for every spacing and relative orientation.

    Parameters
    ----------
    score, backgrounds, rng, resamples
        As in :func:`marginalize`.
    motif_a, motif_b : Motif
        The first (left) and second motif; orientation ``"+-"`` puts ``a`` as given and
        ``b`` reverse-complemented.
    spacings : sequence of int
        Gaps (bp) from the end of ``a`` to the start of ``b``; gaps at which the two do
        not fit are left out.
    orientations : sequence of str, default ("++", "+-", "-+", "--")
    marginal : dict or None, default None
        Each motif's marginal mean change (:func:`marginalize`), for the ``excess`` column
        (NaN without).

    Returns
    -------
    list of dict
        Keys :data:`SPACING_COLUMNS`, orientation by orientation, spacing ascending.
    """
    before = np.asarray(score(backgrounds), dtype=np.float64)
    length = backgrounds.shape[1]
    a, b = one_hot_encode(motif_a.sequence), one_hot_encode(motif_b.sequence)
    limit = max_spacing_that_fits(length, len(a), len(b), max(spacings, default=-1))
    additive = (marginal[motif_a.name] + marginal[motif_b.name]) if marginal else float("nan")
    rows = []
    for orientation in orientations:
        if orientation not in ORIENTATIONS:
            raise InputError(f"orientation {orientation!r}: choose from {', '.join(ORIENTATIONS)}")
        first, second = oriented(a, orientation[0]), oriented(b, orientation[1])
        for spacing in spacings:
            if not 0 <= spacing <= limit:
                continue
            start_a, start_b = pair_starts(length, len(a), len(b), spacing)
            X = insert(insert(backgrounds, first, start_a), second, start_b)
            delta = np.asarray(score(X), dtype=np.float64) - before
            low, high = bootstrap_interval(delta, rng, resamples)
            rows.append({"motif_a": motif_a.name, "motif_b": motif_b.name, "orientation": orientation,
                         "spacing": int(spacing), "start_a": start_a, "start_b": start_b,
                         "backgrounds": len(delta), "mean_delta": float(delta.mean()), "ci_low": low,
                         "ci_high": high, "excess": float(delta.mean() - additive)})
    return rows


def preferred_spacings(rows: Sequence[dict]) -> list[dict]:
    """For each pair and orientation of :func:`space`'s rows, the spacing of the largest
    mean change, that change, the median change over all spacings, and ``preferred``:
    whether the largest change's interval lies above that median (a flat curve, as a
    model without cooperativity gives, has no preferred spacing; its ``spacing`` is then
    merely the first of ties).
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["motif_a"], row["motif_b"], row["orientation"]), []).append(row)
    best = []
    for (a, b, orientation), group in groups.items():
        top = max(group, key=lambda row: row["mean_delta"])
        best.append({"motif_a": a, "motif_b": b, "orientation": orientation, "spacing": top["spacing"],
                     "mean_delta": top["mean_delta"], "ci_low": top["ci_low"], "ci_high": top["ci_high"],
                     "median_delta": float(np.median([row["mean_delta"] for row in group]))})
        best[-1]["preferred"] = bool(top["ci_low"] > best[-1]["median_delta"])
    return best


def _free_starts(length: int, width: int, taken: np.ndarray) -> np.ndarray:
    """Starts of a ``width``-bp span in ``[0, length)`` that overlaps no ``True`` of ``taken``."""
    if width > length:
        return np.zeros(0, np.int64)
    blocked = np.convolve(taken.astype(np.int64), np.ones(width, np.int64), mode="valid")
    return np.flatnonzero(blocked == 0)


def ablate(score: ScoreFunction, windows: np.ndarray, motif: Motif, backgrounds: np.ndarray,
           rng: np.random.Generator, ablations: int = 10, resamples: int = 1000,
           occupied: np.ndarray | None = None) -> dict:
    """Replace ``motif``'s seqlets in ``windows`` by background and score the drop.

    For every window holding seqlets of ``motif``, all its seqlet spans are replaced, at
    once, by the same positions of ``ablations`` background sequences drawn at random;
    the window's drop is its score minus the mean score of those copies. The control
    replaces spans of the same widths at random positions of the window that overlap no
    seqlet (``occupied``, of any motif), from the same backgrounds.

    Parameters
    ----------
    score : callable
        As in :func:`marginalize`.
    windows : array (n, L, 4)
        The positive windows the seqlets' rows index.
    motif : Motif
        With ``seqlets`` (row, start, end), clipped to the window.
    backgrounds : array (m, L, 4)
        Background sequences of the same length.
    rng : numpy.random.Generator
    ablations : int, default 10
        Background copies per window.
    resamples : int, default 1000
        Bootstrap resamples over windows.
    occupied : array (n, L) of bool or None, default None
        Positions the control must avoid (default: this motif's seqlets).

    Returns
    -------
    dict
        Keys :data:`ABLATION_COLUMNS`; drops NaN when the motif has no seqlet.
    """
    length = windows.shape[1]
    seqlets = np.asarray(motif.seqlets, dtype=np.int64).reshape(-1, 3)
    seqlets = seqlets[(seqlets[:, 0] >= 0) & (seqlets[:, 0] < len(windows))]
    starts, ends = np.clip(seqlets[:, 1], 0, length), np.clip(seqlets[:, 2], 0, length)
    keep = ends > starts
    seqlets, starts, ends = seqlets[keep], starts[keep], ends[keep]
    rows = np.unique(seqlets[:, 0])
    if occupied is None:
        occupied = np.zeros(windows.shape[:2], dtype=bool)
        for row, start, end in zip(seqlets[:, 0], starts, ends, strict=True):
            occupied[row, start:end] = True
    ablated, control, owners = [], [], []
    has_control = []
    for row in rows:
        mine = seqlets[:, 0] == row
        spans = list(zip(starts[mine], ends[mine], strict=True))
        picks = rng.integers(0, len(backgrounds), ablations)
        copies = np.repeat(windows[row][None], ablations, axis=0)
        controls = copies.copy()
        taken = occupied[row].copy()
        possible = True
        for start, end in spans:
            copies[:, start:end] = backgrounds[picks, start:end]
            free = _free_starts(length, end - start, taken)
            if not len(free):
                possible = False
                continue
            at = int(free[rng.integers(len(free))])
            controls[:, at:at + end - start] = backgrounds[picks, at:at + end - start]
            taken[at:at + end - start] = True  # the control spans do not overlap each other
        ablated.append(copies)
        control.append(controls)
        owners.append(np.full(ablations, len(owners)))
        has_control.append(possible)
    result = {"motif": motif.name, "source": motif.source, "windows": int(len(rows)),
              "seqlets": int(len(seqlets))}
    if not len(rows):
        nan = float("nan")
        return {**result, "mean_before": nan, "mean_after": nan, "mean_drop": nan, "ci_low": nan,
                "ci_high": nan, "control_drop": nan, "control_ci_low": nan, "control_ci_high": nan}
    before = np.asarray(score(windows[rows]), dtype=np.float64)
    after = np.asarray(score(np.concatenate(ablated)), dtype=np.float64).reshape(len(rows), ablations).mean(axis=1)
    after_control = np.asarray(score(np.concatenate(control)), dtype=np.float64).reshape(len(rows), ablations)
    after_control = after_control.mean(axis=1)
    drop, control_drop = before - after, (before - after_control)[np.array(has_control)]
    low, high = bootstrap_interval(drop, rng, resamples)
    control_low, control_high = bootstrap_interval(control_drop, rng, resamples)
    return {**result, "mean_before": float(before.mean()), "mean_after": float(after.mean()),
            "mean_drop": float(drop.mean()), "ci_low": low, "ci_high": high,
            "control_drop": float(control_drop.mean()) if len(control_drop) else float("nan"),
            "control_ci_low": control_low, "control_ci_high": control_high}


def matrix_sites(windows: np.ndarray, ppm: np.ndarray,
                 relative_score: float = MATCH_RELATIVE_SCORE) -> np.ndarray:
    """Each window's best match of a matrix on either strand where its log-odds reach
    ``relative_score`` of the way from the lowest possible to the highest: ``(k, 3)``
    rows of window row, start, end.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    pwm = np.log2((np.asarray(ppm, np.float64) + 0.01) / 1.04 / 0.25)
    width = len(pwm)
    if windows.shape[1] < width:
        return np.zeros((0, 3), np.int64)
    lowest, highest = pwm.min(axis=1).sum(), pwm.max(axis=1).sum()
    cutoff = lowest + relative_score * (highest - lowest)
    both = np.stack((pwm, pwm[::-1, ::-1]))
    found = []
    for first in range(0, len(windows), 2048):
        block = np.asarray(windows[first:first + 2048], dtype=np.float64)
        view = sliding_window_view(block, (width, 4), axis=(1, 2))[:, :, 0]
        scores = np.einsum("nlkc,skc->nl", view, both[:1]), np.einsum("nlkc,skc->nl", view, both[1:])
        best = np.maximum(*scores)
        at = best.argmax(axis=1)
        for row in np.flatnonzero(best.max(axis=1) >= cutoff):
            found.append((first + row, at[row], at[row] + width))
    return np.array(found, dtype=np.int64).reshape(-1, 3)


# ---------------------------------------------------------------------------------------
# inputs


def draw_backgrounds(dataset_dir: str | os.PathLike, n: int, rng: np.random.Generator,
                     mode: str = "shuffled", splits: Sequence[str] = ("train", "valid", "test"),
                     ppm: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """``n`` background sequences from a dataset's negative windows, and a description.

    The candidates are the negative windows (label 0) of ``splits`` without any N row,
    in a seeded random order; ``shuffled`` shuffles each preserving its dinucleotides,
    ``negatives`` keeps them as they are but skips those with a match of ``ppm``
    (:func:`matrix_sites`). Fewer than ``n`` are returned when fewer qualify.

    Raises
    ------
    InputError
        An unknown mode, a missing split, or no window that qualifies.
    """
    from tfbinding.layout import array_path

    if mode not in BACKGROUND_MODES:
        raise InputError(f"background {mode!r}: choose from {', '.join(BACKGROUND_MODES)}")
    root = Path(dataset_dir)
    candidates = []
    for split in splits:
        try:
            X = np.load(array_path(root, split, "X"), mmap_mode="r")
            y = np.load(array_path(root, split, "y"), mmap_mode="r")
        except FileNotFoundError as err:
            raise InputError(f"{root}: no split {split!r} here ({Path(err.filename).name} is missing). "
                             "Build the dataset first") from err
        negative = np.flatnonzero(np.asarray(y).reshape(len(y), -1).max(axis=1) < 0.5)
        candidates.extend((X, int(row)) for row in negative)
    order = rng.permutation(len(candidates))
    chosen: list[np.ndarray] = []
    for first in range(0, len(order), max(4 * n, 256)):
        for index in order[first:first + max(4 * n, 256)]:
            X, row = candidates[index]
            window = np.asarray(X[row], dtype=np.uint8)
            if not window.any(axis=1).all():
                continue
            if mode == "negatives" and ppm is not None and len(matrix_sites(window[None], ppm)):
                continue
            chosen.append(window)
            if len(chosen) == n:
                break
        if len(chosen) == n:
            break
    if not chosen:
        raise InputError(f"{root}: no negative window without N in split(s) {', '.join(splits)} to draw "
                         "backgrounds from")
    backgrounds = np.stack(chosen)
    if mode == "shuffled":
        backgrounds = np.stack([dinucleotide_shuffle(window, rng) for window in backgrounds])
        what = "dinucleotide-shuffled negative windows without N"
    else:
        what = "negative windows without N" + (" or a match of the factor's matrix" if ppm is not None else "")
    return backgrounds, f"{len(backgrounds)} {what} of {', '.join(splits)} ({root})"


def read_patterns(patterns_npz: str | os.PathLike, max_patterns: int | None = None) -> list[Motif]:
    """The patterns of ``patterns.npz`` (discover_motifs) as motifs, in rank order: the
    consensus of each trimmed matrix, and its seqlets (row, start, end).
    """
    try:
        data = np.load(patterns_npz)
    except FileNotFoundError as err:
        raise InputError(f"{patterns_npz}: no such file. Run discover_motifs first") from err
    with data:
        seqlets = data["seqlets"] if "seqlets" in data.files else np.zeros((0, 5), np.int64)
        ranks = sorted(int(key[len("pattern_"):-len("_ppm")]) for key in data.files
                       if key.startswith("pattern_") and key.endswith("_ppm"))
        source = str(data["source"]) if "source" in data.files else "TF-MoDISco pattern"
        motifs = []
        for rank in ranks[:max_patterns]:
            ppm = data[f"pattern_{rank}_ppm"]
            start, end = data[f"pattern_{rank}_trim"] if f"pattern_{rank}_trim" in data.files else (0, len(ppm))
            mine = seqlets[seqlets[:, 0] == rank][:, 1:4] if len(seqlets) else np.zeros((0, 3), np.int64)
            motifs.append(Motif(f"pattern_{rank}", source, consensus(ppm[start:end]), mine.astype(np.int64)))
    return motifs


# ---------------------------------------------------------------------------------------
# tables and plots


def write_table(rows: Sequence[dict], columns: Sequence[str], path: str | os.PathLike) -> None:
    """A TSV with header ``columns``; floats with 6 significant digits."""
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(f"{row[key]:.6g}" if isinstance(row[key], float) else str(row[key])
                               for key in columns))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _figure(path: str | os.PathLike, draw: Callable, size: tuple[float, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=size)
    draw(figure)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=90, format="png")
    plt.close(figure)


def _no_data(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=axis.transAxes)
    axis.set_axis_off()


def plot_marginalization(rows: Sequence[dict], path: str | os.PathLike, score_name: str = "logit") -> None:
    """Horizontal bars of each motif's mean change, with its bootstrap interval."""
    def draw(figure):
        axis = figure.add_subplot()
        if not rows:
            return _no_data(axis, "no motif to insert")
        labels = [f"{row['motif']} ({row['sequence']})" for row in rows][::-1]
        means = np.array([row["mean_delta"] for row in rows])[::-1]
        errors = np.abs(np.array([[row["ci_low"], row["ci_high"]] for row in rows])[::-1].T - means)
        axis.barh(labels, means, xerr=errors, color="#4477aa", capsize=3)
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_xlabel(f"mean change of the {score_name} (95% bootstrap interval)")
        axis.set_title("marginalization: motif inserted at the centre of backgrounds")
    _figure(path, draw, (7.5, 1.2 + 0.45 * max(len(rows), 1)))


def plot_spacing(rows: Sequence[dict], path: str | os.PathLike, score_name: str = "logit") -> None:
    """One panel per motif pair: the mean change against the gap, a line per orientation."""
    pairs = list(dict.fromkeys((row["motif_a"], row["motif_b"]) for row in rows))

    def draw(figure):
        if not pairs:
            return _no_data(figure.add_subplot(), "no motif pair to space")
        for index, (a, b) in enumerate(pairs, 1):
            axis = figure.add_subplot(len(pairs), 1, index)
            for orientation in ORIENTATIONS:
                mine = [row for row in rows if (row["motif_a"], row["motif_b"], row["orientation"])
                        == (a, b, orientation)]
                if not mine:
                    continue
                x = [row["spacing"] for row in mine]
                axis.plot(x, [row["mean_delta"] for row in mine], label=orientation, linewidth=1.2)
                axis.fill_between(x, [row["ci_low"] for row in mine], [row["ci_high"] for row in mine],
                                  alpha=0.15)
            axis.set_title(f"{a} then {b}")
            axis.set_ylabel(f"change of the {score_name}")
            axis.legend(title="orientation", fontsize=8, ncol=4)
        axis.set_xlabel("gap between the motifs (bp)")
    _figure(path, draw, (8.0, 2.8 * max(len(pairs), 1) + 0.4))


def plot_ablation(rows: Sequence[dict], path: str | os.PathLike, score_name: str = "logit") -> None:
    """Each motif's mean drop when its seqlets are replaced, beside the control's."""
    shown = [row for row in rows if row["windows"]]

    def draw(figure):
        axis = figure.add_subplot()
        if not shown:
            return _no_data(axis, "no seqlet to ablate")
        y = np.arange(len(shown))[::-1]
        for offset, key, low, high, color, label in (
                (0.2, "mean_drop", "ci_low", "ci_high", "#cc3311", "seqlets replaced"),
                (-0.2, "control_drop", "control_ci_low", "control_ci_high", "#999999", "control spans")):
            means = np.array([row[key] for row in shown])
            errors = np.abs(np.array([[row[low], row[high]] for row in shown]).T - means)
            axis.barh(y + offset, means, height=0.4, xerr=np.nan_to_num(errors), color=color, label=label,
                      capsize=3)
        axis.set_yticks(y, [f"{row['motif']} ({row['windows']} windows)" for row in shown])
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_xlabel(f"mean drop of the {score_name} (95% bootstrap interval)")
        axis.set_title("ablation in the explained positive windows")
        axis.legend(fontsize=8)
    _figure(path, draw, (7.5, 1.4 + 0.6 * max(len(shown), 1)))


# ---------------------------------------------------------------------------------------
# the step


@dataclass(frozen=True)
class InsilicoSettings:
    """The experiments' parameters (the config's ``insilico`` section).

    Attributes
    ----------
    backgrounds : int, default 100
        Background sequences drawn.
    background : str, default "shuffled"
        ``shuffled`` or ``negatives`` (see the module's docstring).
    max_spacing : int, default 100
        Largest gap (bp) of the spacing experiment (0 to this, step 1), capped where the
        two motifs no longer fit.
    spacing_motifs : int, default 2
        The spacing experiment pairs the top motifs of the marginalization ranking, each
        with itself and with the others.
    max_patterns : int, default 5
        Patterns taken from ``patterns.npz``, largest first.
    ablations : int, default 10
        Background copies per window in the ablation.
    bootstrap : int, default 1000
        Bootstrap resamples of the intervals (95%).
    seed : int, default 0
    """

    backgrounds: int = 100
    background: str = "shuffled"
    max_spacing: int = 100
    spacing_motifs: int = 2
    max_patterns: int = 5
    ablations: int = 10
    bootstrap: int = 1000
    seed: int = 0


def run_experiments(score: ScoreFunction, backgrounds: np.ndarray, motifs: Sequence[Motif],
                    windows: np.ndarray | None, settings: InsilicoSettings,
                    rng: np.random.Generator) -> dict[str, list[dict]]:
    """The three experiments on given arrays: ``marginalization``, ``spacing`` and
    ``ablation`` rows (ablation only of motifs with seqlets, and only with ``windows``).
    """
    marginal = marginalize(score, backgrounds, motifs, rng, settings.bootstrap)
    effect = {row["motif"]: row["mean_delta"] for row in marginal}
    by_name = {motif.name: motif for motif in motifs}
    # the top motifs of distinct sequences (a pattern may be the factor's consensus itself)
    distinct = list({row["sequence"]: by_name[row["motif"]] for row in marginal[::-1]}.values())[::-1]
    top = distinct[:settings.spacing_motifs]
    spacing = []
    for a, b in combinations_with_replacement(top, 2):
        spacing += space(score, backgrounds, a, b, range(settings.max_spacing + 1), rng,
                         resamples=settings.bootstrap, marginal=effect)
    ablation = []
    if windows is not None:
        occupied = np.zeros(windows.shape[:2], dtype=bool)
        for motif in motifs:
            for row, start, end in motif.seqlets:
                if 0 <= row < len(windows):
                    occupied[row, max(start, 0):max(end, 0)] = True
        for motif in motifs:
            if len(motif.seqlets):
                ablation.append(ablate(score, windows, motif, backgrounds, rng, settings.ablations,
                                       settings.bootstrap, occupied))
    return {"marginalization": marginal, "spacing": spacing, "ablation": ablation}


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for package in ("numpy", "keras", "matplotlib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def insilico(model_dir: str | os.PathLike, dataset_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
             motif: str | os.PathLike | None = None, patterns: str | os.PathLike | None = None,
             attributions: str | os.PathLike | None = None, settings: InsilicoSettings = InsilicoSettings(),
             rc_average: bool = False, batch_size: int = 2048, threads: int | None = None,
             task: str | int | None = None) -> dict:
    """Run the three experiments for a trained model and write the tables, plots and summary.

    Parameters
    ----------
    model_dir : path
        A model folder holding ``model.keras`` (a sequence-only model).
    dataset_dir : path
        The dataset whose negative windows give the backgrounds.
    out_dir : path
        Output folder, e.g. ``results/<name>/insilico/<model>/``.
    motif : path or None, default None
        The factor's JASPAR count matrix (the config's ``motif``).
    patterns : path or None, default None
        ``patterns.npz`` of ``discover_motifs`` for this model.
    attributions : path or None, default None
        The ``attributions.npz`` those patterns came from: its windows are ablated.
    settings : InsilicoSettings
    rc_average : bool, default False
        Score the mean of both strands' logits (the ``improved`` model).
    batch_size, threads, task
        Sequences per model call; TensorFlow's threads; a multi-task model's task.

    Returns
    -------
    dict
        The summary written to ``insilico.json``.
    """
    from tfbinding.interpret.attribution import explained_task, predict_logits
    from tfbinding.models.inference import load_model, signal_channels

    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    notes = []
    motifs: list[Motif] = []
    ppm = None
    if motif is not None:
        from tfbinding.models.motif_baseline import read_jaspar

        header, counts = read_jaspar(motif)
        ppm = counts / counts.sum(axis=1, keepdims=True)
        motifs.append(Motif(header.strip() or Path(motif).stem, "factor matrix", consensus(ppm)))
    found = read_patterns(patterns, settings.max_patterns) if patterns is not None else []
    if patterns is not None and not found:
        notes.append(f"{patterns} holds no pattern (motif discovery found none): the experiments "
                     "ran on the factor's matrix alone" if motifs else
                     f"{patterns} holds no pattern and no factor matrix is configured: nothing to insert")
    motifs += found
    windows = None
    if attributions is not None:
        with np.load(attributions) as data:
            windows = np.asarray(data["one_hot"], dtype=np.uint8)
        if ppm is not None:
            sites = matrix_sites(windows, ppm)
            motifs[0].seqlets = sites
            notes.append(f"the factor's matrix is ablated at its best match (relative score ≥ "
                         f"{MATCH_RELATIVE_SCORE}) in {len(sites)} of the {len(windows)} explained windows")
    model = load_model(model_dir, seed=settings.seed, threads=threads)
    if signal_channels(model):
        raise InputError(f"{model_dir}: a signal model reads signal channels besides the sequence; in-silico "
                         "experiments insert sequence only. Run them on a sequence-only model")
    index, task_name = explained_task(model, model_dir, task)
    length = int(model.input_shape[1])
    backgrounds, background_text = draw_backgrounds(dataset_dir, settings.backgrounds, rng, settings.background,
                                                    ppm=ppm)
    if backgrounds.shape[1] != length or (windows is not None and windows.shape[1] != length):
        raise InputError(f"{model_dir}: the model reads {length}-bp rows, the dataset's are {backgrounds.shape[1]} bp"
                         + (f" and the explained windows {windows.shape[1]} bp" if windows is not None else "")
                         + ". Use the dataset and attributions of this model")

    def score(X: np.ndarray) -> np.ndarray:
        return predict_logits(model, X, rc_average, batch_size, index)

    results = run_experiments(score, backgrounds, motifs, windows, settings, rng)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_table(results["marginalization"], MARGINAL_COLUMNS, out / "marginalization.tsv")
    write_table(results["spacing"], SPACING_COLUMNS, out / "spacing.tsv")
    write_table(results["ablation"], ABLATION_COLUMNS, out / "ablation.tsv")
    plot_marginalization(results["marginalization"], out / "marginalization.png")
    plot_spacing(results["spacing"], out / "spacing.png")
    plot_ablation(results["ablation"], out / "ablation.png")
    summary = {
        "model": str(model_dir), "score": "logit" + (" (mean of both strands)" if rc_average else ""),
        "settings": asdict(settings), "backgrounds": background_text, "length": length,
        "motifs": [{"name": m.name, "source": m.source, "sequence": m.sequence, "seqlets": int(len(m.seqlets))}
                   for m in motifs],
        "marginalization": [{key: row[key] for key in ("rank", "motif", "mean_delta", "ci_low", "ci_high")}
                            for row in results["marginalization"]],
        "preferred_spacing": preferred_spacings(results["spacing"]),
        "ablation": [{key: row[key] for key in ("motif", "windows", "mean_drop", "ci_low", "ci_high",
                                                 "control_drop")} for row in results["ablation"]],
        "notes": notes, "versions": _versions(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if task_name:
        summary["task"] = task_name
    save_json(out / "insilico.json", summary)
    for note in notes:
        log.warning(note)
    log.info("in-silico experiments on %d backgrounds with %d motif(s) in %.1f s", len(backgrounds),
             len(motifs), summary["seconds"])
    return summary
