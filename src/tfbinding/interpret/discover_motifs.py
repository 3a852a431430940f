"""Motif discovery from attributions: TF-MoDISco-lite patterns, written in MEME minimal
motif format, drawn as logos, and matched to JASPAR CORE vertebrate matrices.

The step reads ``attributions.npz`` (:func:`tfbinding.interpret.explain.attribute`) and writes,
into one folder (each file atomically):

``motifs.meme``
    The patterns in MEME minimal motif format (letter-probability matrices), largest first
    (by number of seqlets); each ``MOTIF`` line reads ``pattern_<rank>
    <positive|negative>_<n>_seqlets`` and ``nsites=`` holds the same count.
``jaspar_matches.tsv``
    The ``n_matches`` best JASPAR matrices of every pattern (Tomtom-style, memelite):
    ``pattern, rank, jaspar_id, name, p_value, q_value, e_value, orientation, offset,
    overlap, tf_family, tf_class, jaspar_release``.
``logos/pattern_<rank>.png``
    The contribution logo (the pattern's mean contribution per base) above the
    information-content logo of its letter probabilities.
``motifs.html``
    One self-contained page (logos embedded as base64) with every pattern and its matches.
``patterns.npz``
    Each pattern's untrimmed arrays (``pattern_<rank>_ppm``, ``_cwm``, ``_hypothetical``),
    its trimmed span, and every seqlet (``seqlets``: pattern rank, window row, start, end,
    reverse-complemented), so seqlets map back to windows through ``attributions.npz``'s ids.
``motif_discovery.json``
    Parameters, the JASPAR release, counts, each pattern's best match, timings, notes.

Small data. TF-MoDISco's defaults need 30 seqlets of a sign and 20 per pattern, which a
few hundred windows may not give. When its defaults find nothing, the step goes on, and the
summary's ``method`` and ``passes`` (and the page) say which pass answered:

1. ``TF-MoDISco-lite, thresholds scaled to the windows``: again with the seqlet thresholds
   scaled to the number of windows (:meth:`ModiscoSettings.scaled_to`: a pattern needs
   5% of the windows, at least 5, a sign 10%, at least 10), when the attributions are not
   all zero;
2. ``seqlets aligned to the factor's matrix`` (given the factor's JASPAR matrix, the
   config's ``motif``): each window's best match of the matrix on either strand, where it
   reaches a relative score of 0.8 (:func:`matrix_aligned_pattern`), taken with 5 bp on
   each side, reverse-strand matches turned over; with non-zero attributions only the
   matches whose summed contribution is positive (the model uses them). The letters are
   the windows' own, but the placement is the matrix's: this pattern says how the
   factor's sites in these windows look, not that the model found them unaided.

All-zero attributions are named as such (the model's gradient vanishes everywhere, e.g. a
motif-informed ``improved`` model that kept its pre-training motif scan, whose rounded
score has no gradient), not as weak seqlets. When no pass finds a pattern, the files are
still written: a MEME header without motifs, a TSV header without rows, and a page and
summary that say so.

Trimming: a pattern's matrix is cut to the span from the first to the last position whose
total absolute contribution reaches ``trim_threshold`` (0.3) of the pattern's highest, as
TF-MoDISco's own report does. The MEME file, the logos and the JASPAR comparison use the
trimmed matrices; ``patterns.npz`` keeps the untrimmed ones.

JASPAR: the CORE collection, vertebrates, latest version of each matrix, from the SQLite
release shipped inside pyjaspar (offline); ``JASPAR2026`` by default. p-values come from
``memelite.tomtom`` (both strands); the q-value is Benjamini–Hochberg over the pattern's
comparisons with all matrices, and the E-value is the p-value times their number.
"""
from __future__ import annotations

import base64
import functools
import html
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tfbinding.atomic import atomic_path, save_json, save_npz
from tfbinding.errors import InputError

log = logging.getLogger(__name__)

JASPAR_RELEASE = "JASPAR2026"
MATCH_COLUMNS = ("pattern", "rank", "jaspar_id", "name", "p_value", "q_value", "e_value",
                 "orientation", "offset", "overlap", "tf_family", "tf_class", "jaspar_release")
MEME_HEADER = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
               "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")
_BASES = np.array(list("ACGT"))


@dataclass(frozen=True)
class ModiscoSettings:
    """TF-MoDISco-lite parameters (names as in ``modiscolite.tfmodisco.TFMoDISco``).

    The library's defaults suit 400-bp-or-longer windows of thousands of peaks. Ours are
    often 101 bp and a few hundred windows, where seqlets expanded by 10 bp on each side
    fall off the window's ends and are lost: on 702 windows of 101 bp from a model of the
    synthetic demo, the library's defaults found no pattern, its defaults with a 15-bp
    sliding window and 5-bp flanks an AP-1 pattern of 27 seqlets, and these settings one
    of 142. :meth:`for_length` picks them from the window length.

    Attributes
    ----------
    sliding_window_size : int, default 15
        Width (bp) of the windows whose summed contribution calls a seqlet.
    flank_size : int, default 5
        Bases added on each side of a seqlet.
    initial_flank_to_add, final_flank_to_add : int, default 3, 0
        Bases added around seqlets while patterns are built, and at the end.
    trim_to_window_size : int, default 20
        Patterns are trimmed to their best window of this width while built.
    min_metacluster_size : int, default 30
        Fewest seqlets of one sign (positive or negative contribution) to cluster them.
    final_min_cluster_size : int, default 20
        Fewest seqlets of a reported pattern.
    max_seqlets_per_metacluster : int, default 20000
    target_seqlet_fdr : float, default 0.2
    n_leiden_runs : int, default 5
        Leiden clusterings (seeds) per step; the library's default is 50, its CLI's 2. On
        2,000 demo windows of 501 bp, 5 runs took 82 s and gave one AP-1 pattern of 1,710
        seqlets, 10 runs 242 s and two (1,234 and 578), 2 runs 40 s and a blurred one.
    """

    sliding_window_size: int = 15
    flank_size: int = 5
    initial_flank_to_add: int = 3
    final_flank_to_add: int = 0
    trim_to_window_size: int = 20
    min_metacluster_size: int = 30
    final_min_cluster_size: int = 20
    max_seqlets_per_metacluster: int = 20000
    target_seqlet_fdr: float = 0.2
    n_leiden_runs: int = 5

    @classmethod
    def for_length(cls, length: int, **overrides) -> "ModiscoSettings":
        """Settings for windows of ``length`` bp: the short-window defaults below 200 bp,
        TF-MoDISco-lite's command-line defaults (window 20, flanks 5 and 10, trim to 30)
        from 400 bp, in between linearly. ``overrides`` replace any field.
        """
        weight = float(np.clip((length - 200) / 200, 0.0, 1.0))
        values = {
            "sliding_window_size": round(15 + 5 * weight),
            "initial_flank_to_add": round(min(3 + 7 * weight, max(1, length // 30))),
            "trim_to_window_size": round(20 + 10 * weight),
        }
        values.update(overrides)
        return cls(**values)

    def scaled_to(self, n_windows: int) -> "ModiscoSettings":
        """These settings with the seqlet thresholds scaled to ``n_windows`` windows: a
        pattern needs 5% of them (at least 5, at most this ``final_min_cluster_size``), a
        sign 10% (at least 10, at most this ``min_metacluster_size``). On 139 windows: 7
        and 14 instead of 20 and 30.
        """
        values = asdict(self)
        values["final_min_cluster_size"] = int(np.clip(round(0.05 * n_windows), 5, self.final_min_cluster_size))
        values["min_metacluster_size"] = int(np.clip(round(0.1 * n_windows), 10, self.min_metacluster_size))
        return ModiscoSettings(**values)


@dataclass
class Pattern:
    """One TF-MoDISco pattern, ranked by its number of seqlets.

    Attributes
    ----------
    rank : int
        1 for the pattern with the most seqlets.
    sign : str
        ``positive`` or ``negative``: the sign of its contributions.
    seqlets : numpy.ndarray
        ``(k, 4)`` int64: window row, start, end, reverse-complemented (0/1).
    ppm, cwm, hypothetical : numpy.ndarray
        ``(w, 4)`` letter probabilities, mean contributions and mean hypothetical
        contributions, untrimmed.
    trim : tuple of int
        ``[start, end)`` of the trimmed span.
    modisco_name : str
        Its name in TF-MoDISco's own output, e.g. ``pos_patterns.pattern_0``.
    """

    rank: int
    sign: str
    seqlets: np.ndarray
    ppm: np.ndarray
    cwm: np.ndarray
    hypothetical: np.ndarray
    trim: tuple[int, int]
    modisco_name: str

    @property
    def name(self) -> str:
        return f"pattern_{self.rank}"

    @property
    def n_seqlets(self) -> int:
        return int(len(self.seqlets))

    @property
    def trimmed_ppm(self) -> np.ndarray:
        return self.ppm[self.trim[0]:self.trim[1]]

    @property
    def trimmed_cwm(self) -> np.ndarray:
        return self.cwm[self.trim[0]:self.trim[1]]

    @property
    def consensus(self) -> str:
        """The trimmed matrix's most likely base where its probability is ≥ 0.5, else N."""
        ppm = self.trimmed_ppm
        return "".join(np.where(ppm.max(axis=1) >= 0.5, _BASES[ppm.argmax(axis=1)], "N"))


@dataclass(frozen=True)
class JasparMatrix:
    """A JASPAR matrix as letter probabilities ``(w, 4)``, channels A, C, G, T."""

    matrix_id: str
    name: str
    ppm: np.ndarray
    tf_family: str = ""
    tf_class: str = ""


@dataclass
class Match:
    """One pattern-to-JASPAR comparison (Tomtom-style)."""

    pattern: str
    rank: int
    jaspar_id: str
    name: str
    p_value: float
    q_value: float
    e_value: float
    orientation: str
    offset: int
    overlap: int
    tf_family: str
    tf_class: str
    jaspar_release: str


# ---------------------------------------------------------------------------------------
# TF-MoDISco


def trim_span(cwm: np.ndarray, threshold: float = 0.3) -> tuple[int, int]:
    """``[start, end)`` from the first to the last position whose summed absolute
    contribution is at least ``threshold`` times the highest.
    """
    score = np.abs(cwm).sum(axis=1)
    if not score.any():
        return 0, len(cwm)
    passing = np.flatnonzero(score >= threshold * score.max())
    return int(passing[0]), int(passing[-1]) + 1


def run_modisco(one_hot: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings,
                trim_threshold: float = 0.3) -> list[Pattern]:
    """Run TF-MoDISco-lite and return its patterns, both signs, largest first.

    Parameters
    ----------
    one_hot : array (n, L, 4)
        The windows.
    hypothetical : array (n, L, 4)
        Their hypothetical contributions (the actual ones are ``one_hot * hypothetical``).
    settings : ModiscoSettings
    trim_threshold : float, default 0.3
        See :func:`trim_span`.

    Returns
    -------
    list of Pattern
        Empty when the contributions are all zero or too few seqlets pass.
    """
    from modiscolite.tfmodisco import TFMoDISco

    one_hot = np.ascontiguousarray(one_hot, dtype=np.float32)
    hypothetical = np.ascontiguousarray(hypothetical, dtype=np.float32)
    if one_hot.shape != hypothetical.shape or one_hot.ndim != 3 or one_hot.shape[2] != 4:
        raise InputError(f"one_hot {one_hot.shape} and hypothetical {hypothetical.shape} must "
                         "both be (n, L, 4)")
    seqlet_span = settings.sliding_window_size + 2 * settings.flank_size
    if one_hot.shape[1] < seqlet_span + 1:
        raise InputError(f"windows of {one_hot.shape[1]} bp are too short for seqlets of "
                         f"{seqlet_span} bp (sliding_window_size + 2 * flank_size)")
    if not np.any(one_hot * hypothetical):
        return []
    positive, negative = TFMoDISco(
        one_hot=one_hot, hypothetical_contribs=hypothetical, **asdict(settings))
    found = []
    for sign, group in (("positive", positive), ("negative", negative)):
        for index, pattern in enumerate(group or []):
            seqlets = np.array([(s.example_idx, s.start, s.end, int(s.is_revcomp))
                                for s in pattern.seqlets], dtype=np.int64).reshape(-1, 4)
            cwm = np.asarray(pattern.contrib_scores, dtype=np.float64)
            found.append(Pattern(0, sign, seqlets, np.asarray(pattern.sequence, np.float64), cwm,
                                 np.asarray(pattern.hypothetical_contribs, np.float64),
                                 trim_span(cwm, trim_threshold),
                                 f"{sign[:3]}_patterns.pattern_{index}"))
    found.sort(key=lambda p: (-p.n_seqlets, p.sign != "positive", p.modisco_name))
    for rank, pattern in enumerate(found, 1):
        pattern.rank = rank
    return found


def _best_alignment(a: np.ndarray, b: np.ndarray, min_overlap: int) -> tuple[float, int]:
    """Highest Pearson correlation of two ``(w, 4)`` matrices over their overlapping rows,
    and the offset of ``b``'s first row in ``a``'s frame, over all overlaps of at least
    ``min_overlap`` rows.
    """
    best = (-1.0, 0)
    for offset in range(-(len(b) - min_overlap), len(a) - min_overlap + 1):
        first, last = max(0, offset), min(len(a), offset + len(b))
        x, y = a[first:last].ravel(), b[first - offset:last - offset].ravel()
        if x.std() and y.std():
            best = max(best, (float(np.corrcoef(x, y)[0, 1]), offset))
    return best


def _union(a: np.ndarray, b: np.ndarray, offset: int, weight_a: int, weight_b: int,
           fill: float = 0.0) -> np.ndarray:
    """``a`` and ``b`` (``b`` starting at ``offset`` in ``a``'s frame) on their union of rows,
    averaged by seqlet counts; where only one has rows, the other counts as ``fill`` (no
    contribution, or uniform letters), so one pattern's flank is not taken at full weight.
    """
    start, end = min(0, offset), max(len(a), offset + len(b))
    padded_a = np.full((end - start, 4), fill, dtype=np.float64)
    padded_b = np.full((end - start, 4), fill, dtype=np.float64)
    padded_a[-start:-start + len(a)] = a
    padded_b[offset - start:offset - start + len(b)] = b
    return (weight_a * padded_a + weight_b * padded_b) / (weight_a + weight_b)


def merge_reverse_complements(patterns: list[Pattern], min_correlation: float = 0.9,
                              min_overlap: int = 6, trim_threshold: float = 0.3) -> list[Pattern]:
    """Merge patterns that are one motif seen on both strands.

    TF-MoDISco can report a palindromic-like motif twice, once per orientation (for AP-1,
    ``TGACTCA`` and ``TGAGTCA``), which splits its seqlets and hides its flanks. A pattern
    whose trimmed contribution matrix correlates at ``min_correlation`` or more with the
    reverse complement of a larger pattern of the same sign (over at least ``min_overlap``
    rows) is folded into it: seqlets joined (strand flipped), matrices aligned and averaged
    by seqlet counts. Ranks are renumbered by seqlets.
    """
    merged: list[Pattern] = []
    for pattern in sorted(patterns, key=lambda p: -p.n_seqlets):
        cwm = pattern.trimmed_cwm[::-1, ::-1]
        for host in merged:
            if host.sign != pattern.sign:
                continue
            correlation, offset = _best_alignment(host.trimmed_cwm, cwm, min_overlap)
            if correlation < min_correlation:
                continue
            # in the host's untrimmed frame, the guest's reversed untrimmed matrix starts here
            start = host.trim[0] + offset - (len(pattern.cwm) - pattern.trim[1])
            n_host, n_guest = host.n_seqlets, pattern.n_seqlets
            host.ppm, host.cwm, host.hypothetical = (
                _union(getattr(host, key), getattr(pattern, key)[::-1, ::-1], start, n_host, n_guest, fill)
                for key, fill in (("ppm", 0.25), ("cwm", 0.0), ("hypothetical", 0.0)))
            flipped = pattern.seqlets.copy()
            flipped[:, 3] = 1 - flipped[:, 3]
            host.seqlets = np.concatenate((host.seqlets, flipped))
            host.trim = trim_span(host.cwm, trim_threshold)
            host.modisco_name += f"+{pattern.modisco_name}(reverse complement)"
            break
        else:
            merged.append(pattern)
    merged.sort(key=lambda p: (-p.n_seqlets, p.sign != "positive", p.modisco_name))
    for rank, pattern in enumerate(merged, 1):
        pattern.rank = rank
    return merged


#: a matrix matches where its log-odds reach this fraction of the way from its lowest to its
#: highest possible score (TFBSTools' and many scanners' customary 80%)
MATCH_RELATIVE_SCORE = 0.8
METHOD_MODISCO = "TF-MoDISco-lite"
METHOD_SCALED = "TF-MoDISco-lite, thresholds scaled to the windows"
METHOD_ALIGNED = "seqlets aligned to the factor's matrix"


def matrix_aligned_pattern(one_hot: np.ndarray, hypothetical: np.ndarray, ppm: np.ndarray, name: str,
                           flank: int = 5, relative_score: float = MATCH_RELATIVE_SCORE,
                           min_seqlets: int = 5) -> tuple[list[Pattern], str]:
    """One pattern from each window's best match of the factor's matrix, and what was done.

    Every window is scanned with the matrix's log-odds (pseudocount 0.01, uniform
    background) on both strands; its best match is a seqlet when it reaches
    ``relative_score`` of the way from the matrix's lowest possible score to its highest
    (and, where the attributions are not all zero, when the window's contributions over
    the match sum to more than 0). Seqlets span the match and ``flank`` bp on each side;
    a reverse-strand match is reverse-complemented, so all stand in the matrix's
    orientation. The pattern's letter probabilities are the seqlets' bases (positions off
    a window's ends are left out of the counts), its contribution matrices their mean
    attributions; it is trimmed to the contributions' core (:func:`trim_span`), or to the
    matrix's span when the attributions are all zero.

    Parameters
    ----------
    one_hot, hypothetical : array (n, L, 4)
        The windows and their hypothetical contributions.
    ppm : array (w, 4)
        The factor's letter probabilities.
    name : str
        The matrix's name, for the pattern's ``modisco_name`` and the description.
    flank : int, default 5
    relative_score : float, default 0.8
    min_seqlets : int, default 5
        Fewer matches give no pattern.

    Returns
    -------
    (list of Pattern, str)
        No pattern or one (rank 1, positive), and a sentence saying what was done.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    ppm = np.asarray(ppm, dtype=np.float64)
    pwm = np.log2((ppm + 0.01) / (1 + 4 * 0.01) / 0.25)
    width, length = len(pwm), one_hot.shape[1]
    if length < width:
        return [], f"windows of {length} bp are shorter than {name} ({width} bp)"
    cutoff = pwm.min(axis=1).sum() + relative_score * (pwm.max(axis=1).sum() - pwm.min(axis=1).sum())
    view = sliding_window_view(np.asarray(one_hot, np.float64), (width, 4), axis=(1, 2))[:, :, 0]
    scores = np.stack((np.einsum("nlkc,kc->nl", view, pwm), np.einsum("nlkc,kc->nl", view, pwm[::-1, ::-1])))
    flat = scores.transpose(1, 0, 2).reshape(len(one_hot), -1)  # (n, 2 * positions): strand-major
    best = flat.argmax(axis=1)
    strand, start = np.divmod(best, scores.shape[2])
    passing = flat.max(axis=1) >= cutoff
    contributions = one_hot * hypothetical
    with_attributions = bool(np.any(contributions))
    rows = np.arange(len(one_hot))
    if with_attributions:
        support = np.array([contributions[row, s:s + width].sum() for row, s in zip(rows, start, strict=True)])
        passing &= support > 0
    chosen = rows[passing]
    what = (f"{len(chosen)} of {len(one_hot)} windows have a match of {name} at relative score "
            f">= {relative_score}" + (" whose contributions sum to more than 0" if with_attributions else "")
            + f" (seqlets: the match and {flank} bp each side, in the matrix's orientation)")
    if len(chosen) < min_seqlets:
        return [], what + f"; a pattern needs {min_seqlets}"
    span = width + 2 * flank
    stacks = {key: np.zeros((len(chosen), span, 4)) for key in ("ppm", "cwm", "hypothetical")}
    covered = np.zeros((len(chosen), span, 1))
    seqlets = np.zeros((len(chosen), 4), np.int64)
    for index, row in enumerate(chosen):
        first, last = start[row] - flank, start[row] + width + flank
        low, high = max(first, 0), min(last, length)
        for key, source in (("ppm", one_hot), ("cwm", contributions), ("hypothetical", hypothetical)):
            stacks[key][index, low - first:high - first] = source[row, low:high]
        covered[index, low - first:high - first] = 1
        if strand[row]:
            for key in stacks:
                stacks[key][index] = stacks[key][index, ::-1, ::-1]
            covered[index] = covered[index, ::-1]
        seqlets[index] = (row, first, last, strand[row])
    counts = np.maximum(covered.sum(axis=0), 1)
    ppm_out = stacks["ppm"].sum(axis=0) / counts
    ppm_out = np.where(ppm_out.sum(axis=1, keepdims=True) > 0, ppm_out, 0.25)
    ppm_out = ppm_out / ppm_out.sum(axis=1, keepdims=True)
    cwm = stacks["cwm"].sum(axis=0) / counts
    trim = trim_span(cwm) if with_attributions else (flank, flank + width)
    pattern = Pattern(1, "positive", seqlets, ppm_out, cwm, stacks["hypothetical"].sum(axis=0) / counts, trim,
                      f"{METHOD_ALIGNED} ({name})")
    return [pattern], what


# ---------------------------------------------------------------------------------------
# MEME


def write_meme(patterns: list[Pattern], path: str | os.PathLike) -> None:
    """Write the trimmed patterns in MEME minimal motif format, atomically.

    Each motif: ``MOTIF pattern_<rank> <sign>_<n>_seqlets``, then ``letter-probability
    matrix: alength= 4 w= <width> nsites= <n> E= 0``, then one row per position (A C G T,
    each row summing to 1). No pattern gives the header alone.
    """
    blocks = [MEME_HEADER]
    for pattern in patterns:
        ppm = pattern.trimmed_ppm
        ppm = ppm / ppm.sum(axis=1, keepdims=True)
        rows = "\n".join(" ".join(f"{value:.6f}" for value in row) for row in ppm)
        blocks.append(f"MOTIF {pattern.name} {pattern.sign}_{pattern.n_seqlets}_seqlets\n"
                      f"letter-probability matrix: alength= 4 w= {len(ppm)} "
                      f"nsites= {pattern.n_seqlets} E= 0\n{rows}\n\n")
    with atomic_path(path) as tmp:
        tmp.write_text("".join(blocks))


# ---------------------------------------------------------------------------------------
# JASPAR


@functools.lru_cache(maxsize=4)
def jaspar_matrices(release: str = JASPAR_RELEASE, collection: str = "CORE",
                    tax_group: str = "vertebrates") -> tuple[JasparMatrix, ...]:
    """The latest version of each JASPAR matrix of a collection and taxonomic group, read
    offline from the SQLite release that pyjaspar ships.

    Raises
    ------
    InputError
        When pyjaspar does not ship ``release``.
    """
    from pyjaspar import jaspar_releases, jaspardb

    if release not in jaspar_releases:
        raise InputError(f"JASPAR release {release!r} is not shipped by the installed pyjaspar; "
                         f"it has {', '.join(sorted(jaspar_releases))}")
    database = jaspardb(release=release)
    matrices = []
    for motif in database.fetch_motifs(collection=collection, tax_group=[tax_group]):
        counts = np.array([motif.counts[base] for base in "ACGT"], dtype=np.float64).T
        ppm = counts / counts.sum(axis=1, keepdims=True)
        matrices.append(JasparMatrix(motif.matrix_id, motif.name, ppm,
                                     "; ".join(motif.tf_family or []),
                                     "; ".join(motif.tf_class or [])))
    return tuple(matrices)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values along the last axis."""
    p = np.asarray(p_values, dtype=np.float64)
    n = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(ranked)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=-1)
    return q


def match_jaspar(patterns: list[Pattern], matrices: tuple[JasparMatrix, ...] | list[JasparMatrix],
                 release: str = JASPAR_RELEASE, n_matches: int = 10) -> list[Match]:
    """Compare each trimmed pattern with every matrix (``memelite.tomtom``, both strands).

    Parameters
    ----------
    patterns : list of Pattern
    matrices : sequence of JasparMatrix
        The targets (:func:`jaspar_matrices`).
    release : str
        Recorded in each row.
    n_matches : int, default 10
        Rows kept per pattern, best p-value first.

    Returns
    -------
    list of Match
        Patterns in rank order, each with its ``n_matches`` best matches.
    """
    from memelite import tomtom

    if not patterns or not matrices:
        return []
    queries = [p.trimmed_ppm.T.copy() for p in patterns]
    targets = [m.ppm.T.copy() for m in matrices]
    p_values, _, offsets, overlaps, strands = tomtom(queries, targets)[:5]
    p_values = np.nan_to_num(np.asarray(p_values, dtype=np.float64), nan=1.0)
    q_values = benjamini_hochberg(p_values)
    matches = []
    for row, pattern in enumerate(patterns):
        best = np.argsort(p_values[row], kind="stable")[:n_matches]
        for rank, column in enumerate(best, 1):
            target = matrices[column]
            matches.append(Match(
                pattern.name, rank, target.matrix_id, target.name, float(p_values[row, column]),
                float(q_values[row, column]), float(p_values[row, column] * len(matrices)),
                "+-"[int(strands[row, column])], int(offsets[row, column]),
                int(overlaps[row, column]), target.tf_family, target.tf_class, release))
    return matches


def write_matches(matches: list[Match], path: str | os.PathLike) -> None:
    """Write ``jaspar_matches.tsv`` (header :data:`MATCH_COLUMNS`), atomically."""
    lines = ["\t".join(MATCH_COLUMNS)]
    for match in matches:
        values = asdict(match)
        lines.append("\t".join(f"{values[key]:.4g}" if isinstance(values[key], float)
                               else str(values[key]) for key in MATCH_COLUMNS))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------
# logos and the page


def draw_logo(pattern: Pattern, path: str | os.PathLike) -> None:
    """Draw the trimmed pattern's contribution and information-content logos (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    cwm = pd.DataFrame(pattern.trimmed_cwm, columns=list("ACGT"))
    ppm = pd.DataFrame(np.clip(pattern.trimmed_ppm, 1e-6, None), columns=list("ACGT"))
    ppm = ppm.div(ppm.sum(axis=1), axis=0)
    information = logomaker.transform_matrix(ppm, from_type="probability", to_type="information")
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(4.0, 0.45 * len(cwm) + 1), 4.2))
    top.set_ylabel("contribution")
    if pattern.trimmed_cwm.any():
        logomaker.Logo(cwm, ax=top)
    else:
        top.set_xlim(-0.5, len(cwm) - 0.5)
        top.text(0.5, 0.5, "no contribution (the attributions are all zero)", ha="center", va="center",
                 transform=top.transAxes)
    top.set_title(f"{pattern.name}: {pattern.sign}, {pattern.n_seqlets} seqlets")
    logomaker.Logo(information, ax=bottom)
    bottom.set_ylabel("bits")
    bottom.set_ylim(0, 2)
    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=90, format="png")
    plt.close(figure)


def motifs_page(patterns: list[Pattern], matches: list[Match], logos: dict[str, bytes], summary: dict) -> str:
    """The text of the self-contained page: every pattern's logo (embedded) and its JASPAR matches.

    Parameters
    ----------
    patterns : list of Pattern
        The patterns, in page order.
    matches : list of Match
        Their JASPAR matches (:func:`match_jaspar`), listed under each pattern.
    logos : dict of str to bytes
        Pattern name to its PNG logo, embedded as base64.
    summary : dict
        The step's summary (:func:`discovery_summary`): the heading and the note come from it.

    Returns
    -------
    str
        The HTML page.
    """
    by_pattern: dict[str, list[Match]] = {}
    for match in matches:
        by_pattern.setdefault(match.pattern, []).append(match)
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Motifs</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
        "section{margin-bottom:2em}.note{color:#a00}</style></head><body>",
        f"<h1>TF-MoDISco patterns{esc(' of task ' + summary['task']) if summary.get('task') else ''}</h1>"
        f"<p>{summary['windows']} windows of {summary['length']} bp "
        f"from <code>{esc(str(summary['attributions']))}</code>; "
        f"{summary['patterns']} pattern(s); JASPAR: {esc(summary['jaspar_release'])} CORE "
        f"vertebrates ({summary['jaspar_matrices']} matrices), compared with memelite's Tomtom.</p>",
    ]
    passes = summary.get("passes", [])
    if len(passes) > 1 or summary.get("method", METHOD_MODISCO) != METHOD_MODISCO:
        steps = "".join(f"<li>{esc(p['method'])}: {p['patterns']} pattern(s)"
                        f"{esc(': ' + p['detail']) if p.get('detail') else ''}</li>" for p in passes)
        parts.append(f"<p class='note'>Patterns from: <b>{esc(summary.get('method', METHOD_MODISCO))}</b>. "
                     f"Passes tried, in order:</p><ol>{steps}</ol>")
    if not patterns or summary.get("note"):
        parts.append(f"<p class='note'>{esc(summary.get('note', 'No pattern found.'))}</p>")
    for pattern in patterns:
        image = base64.b64encode(logos[pattern.name]).decode("ascii")
        rows = "".join(
            f"<tr><td>{m.rank}</td><td>{esc(m.jaspar_id)}</td><td>{esc(m.name)}</td>"
            f"<td>{esc(m.tf_family)}</td><td>{m.p_value:.3g}</td><td>{m.q_value:.3g}</td>"
            f"<td>{m.orientation}</td><td>{m.offset}</td></tr>" for m in by_pattern.get(pattern.name, []))
        parts.append(
            f"<section><h2>{pattern.name}: {pattern.sign}, {pattern.n_seqlets} seqlets, "
            f"<code>{esc(pattern.consensus)}</code></h2>"
            f"<img alt='{pattern.name} logo' src='data:image/png;base64,{image}'>"
            "<table><tr><th>rank</th><th>JASPAR</th><th>name</th><th>family</th><th>p</th>"
            f"<th>q</th><th>strand</th><th>offset</th></tr>{rows}</table></section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html(patterns: list[Pattern], matches: list[Match], logos: dict[str, Path],
               summary: dict, path: str | os.PathLike) -> None:
    """Write :func:`motifs_page` to ``path``, reading each pattern's logo from ``logos`` (PNG paths)."""
    images = {pattern.name: Path(logos[pattern.name]).read_bytes() for pattern in patterns}
    with atomic_path(path) as tmp:
        tmp.write_text(motifs_page(patterns, matches, images, summary))


# ---------------------------------------------------------------------------------------
# the summary


def _pattern_entry(pattern: Pattern, best: Match | None) -> dict:
    """One pattern in the summary's ``pattern_list``, with its best JASPAR match (or None)."""
    return {
        "name": pattern.name, "sign": pattern.sign, "seqlets": pattern.n_seqlets, "consensus": pattern.consensus,
        "width": pattern.trim[1] - pattern.trim[0], "modisco_name": pattern.modisco_name,
        "best_match": ({key: getattr(best, key) for key in ("jaspar_id", "name", "tf_family", "p_value", "q_value")}
                       if best is not None else None),
    }


def no_pattern_note(n_windows: int, settings: ModiscoSettings, zero: bool = False) -> str:
    """What the summary and the page say when TF-MoDISco finds no pattern in ``n_windows``
    windows (``zero``: because the attributions are all zero).
    """
    if zero:
        return (f"No pattern found in {n_windows} windows: the attributions are all zero (the model's "
                "gradient vanishes, e.g. a motif-informed improved model that kept its pre-training motif "
                "scan). Give the factor's matrix (the config's motif) to report its matches in these "
                "windows, or explain a trained model")
    return (f"No pattern found in {n_windows} windows: too few or too weak seqlets "
            f"(a pattern needs {settings.final_min_cluster_size} seqlets, a sign "
            f"{settings.min_metacluster_size}). Explain more windows, or a better model")


def discovery_summary(attributions: str | os.PathLike, shape: tuple[int, ...], settings: ModiscoSettings,
                      trim_threshold: float, jaspar_release: str, n_matrices: int, patterns: list[Pattern],
                      matches: list[Match], *, versions: dict[str, str], modisco_seconds: float,
                      total_seconds: float, note: str = "", task: str = "", method: str = METHOD_MODISCO,
                      passes: list[dict] | None = None) -> dict:
    """The step's summary (``motif_discovery.json``), from what it found; draws and reads nothing.

    Parameters
    ----------
    attributions : path
        The ``attributions.npz`` read.
    shape : tuple of int
        Shape of its ``one_hot`` array: windows, length, 4.
    settings : ModiscoSettings
        The TF-MoDISco settings used.
    trim_threshold : float
        See :func:`trim_span`.
    jaspar_release : str
        The JASPAR release compared with.
    n_matrices : int
        Number of JASPAR matrices in that comparison.
    patterns : list of Pattern
        The patterns found, in rank order.
    matches : list of Match
        Their JASPAR matches; each pattern's rank-1 match is its ``best_match``.
    versions : dict of str to str
        Versions of the packages involved.
    modisco_seconds, total_seconds : float
        Time in TF-MoDISco, and in the whole step (rounded to ms here).
    note : str, default ""
        A note (e.g. :func:`no_pattern_note`); the ``note`` key is left out when empty.
    task : str, default ""
        The task of a multi-task model's attributions; the ``task`` key is left out when empty.
    method : str, default "TF-MoDISco-lite"
        What found the reported patterns (see the module's docstring on small data).
    passes : list of dict or None, default None
        Each pass tried, in order: ``method``, ``patterns`` and what it used.

    Returns
    -------
    dict
        The summary, JSON-ready.
    """
    best = {m.pattern: m for m in matches if m.rank == 1}
    summary = {
        "attributions": str(attributions), "windows": int(shape[0]), "length": int(shape[1]),
        "settings": asdict(settings), "trim_threshold": trim_threshold,
        "jaspar_release": jaspar_release, "jaspar_collection": "CORE vertebrates",
        "jaspar_matrices": n_matrices, "patterns": len(patterns), "method": method,
        "passes": passes if passes is not None else [{"method": method, "patterns": len(patterns)}],
        "pattern_list": [_pattern_entry(p, best.get(p.name)) for p in patterns],
        "versions": versions,
        "modisco_seconds": round(modisco_seconds, 3),
        "total_seconds": round(total_seconds, 3),
    }
    if note:
        summary["note"] = note
    if task:
        summary["task"] = task
    return summary


# ---------------------------------------------------------------------------------------
# the step


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for package in ("modisco-lite", "memelite", "pyjaspar", "logomaker"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _load_attributions(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """``one_hot``, ``hypothetical`` and the task name ("" unless a multi-task model's) of ``path``."""
    try:
        with np.load(path) as data:
            one_hot, hypothetical = data["one_hot"], data["hypothetical"]
            task = str(data["task"]) if "task" in data.files else ""  # a multi-task model's
    except (FileNotFoundError, KeyError) as err:
        raise InputError(f"{path}: no attributions with 'one_hot' and 'hypothetical' arrays here "
                         f"({err}). Run the attribution step first") from err
    return one_hot, hypothetical, task


def _save_patterns(patterns: list[Pattern], path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for pattern in patterns:
        arrays[f"{pattern.name}_ppm"] = pattern.ppm
        arrays[f"{pattern.name}_cwm"] = pattern.cwm
        arrays[f"{pattern.name}_hypothetical"] = pattern.hypothetical
        arrays[f"{pattern.name}_trim"] = np.array(pattern.trim, dtype=np.int64)
    table = [np.column_stack((np.full(p.n_seqlets, p.rank), p.seqlets)) for p in patterns]
    arrays["seqlets"] = (np.concatenate(table) if table else np.zeros((0, 5))).astype(np.int64)
    arrays["seqlet_columns"] = np.array(["rank", "row", "start", "end", "revcomp"])
    save_npz(path, **arrays)


def discover_motifs(attributions: str | os.PathLike, out_dir: str | os.PathLike, *,
                    settings: ModiscoSettings | None = None, jaspar_release: str = JASPAR_RELEASE,
                    n_matches: int = 10, trim_threshold: float = 0.3,
                    threads: int | None = None, motif: str | os.PathLike | None = None,
                    small_data: bool = True) -> dict:
    """Run TF-MoDISco-lite on ``attributions.npz`` and write the motif outputs.

    Parameters
    ----------
    attributions : path
        ``attributions.npz`` with ``one_hot`` and ``hypothetical`` (n, L, 4): one task's
        of a multi-task model (its ``task`` is named in the summary and the page); a signal
        model's are over the sequence channels alone.
    out_dir : path
        Output folder, e.g. ``results/<name>/interpretation/<model>/``; receives
        ``motifs.meme``, ``jaspar_matches.tsv``, ``logos/``, ``motifs.html``,
        ``patterns.npz`` and ``motif_discovery.json`` (see the module's docstring).
    settings : ModiscoSettings or None, default None
        None: :meth:`ModiscoSettings.for_length` of the windows' length.
    jaspar_release : str, default "JASPAR2026"
        A release shipped inside pyjaspar.
    n_matches : int, default 10
        JASPAR matches listed per pattern (the bZIP matrices of AP-1 and its relatives,
        for example, differ little: list enough of them to see the family).
    trim_threshold : float, default 0.3
        See :func:`trim_span`.
    threads : int or None, default None
        Numba threads for TF-MoDISco and Tomtom (None leaves numba's default).
    motif : path or None, default None
        The factor's JASPAR count matrix (the config's ``motif``), for the last small-data
        pass (seqlets aligned to it).
    small_data : bool, default True
        When TF-MoDISco's settings find nothing, try the small-data passes (see the
        module's docstring); False stops after the first.

    Returns
    -------
    dict
        The summary also written to ``motif_discovery.json``.
    """
    started = time.perf_counter()
    path = Path(attributions)
    one_hot, hypothetical, task = _load_attributions(path)
    if threads:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    settings = settings or ModiscoSettings.for_length(one_hot.shape[1])
    matrices = jaspar_matrices(jaspar_release)
    note = ""
    zero = not np.any(one_hot * hypothetical)
    modisco_started = time.perf_counter()
    patterns = merge_reverse_complements(run_modisco(one_hot, hypothetical, settings, trim_threshold),
                                         trim_threshold=trim_threshold)
    method, passes = METHOD_MODISCO, [{"method": METHOD_MODISCO, "patterns": len(patterns),
                                       "detail": "attributions all zero" if zero else ""}]
    scaled = settings.scaled_to(len(one_hot))
    if not patterns and small_data and not zero and scaled != settings:
        patterns = merge_reverse_complements(run_modisco(one_hot, hypothetical, scaled, trim_threshold),
                                             trim_threshold=trim_threshold)
        passes.append({"method": METHOD_SCALED, "patterns": len(patterns), "settings": asdict(scaled),
                       "detail": f"a pattern needs {scaled.final_min_cluster_size} seqlets, a sign "
                                 f"{scaled.min_metacluster_size}"})
        if patterns:
            method, settings = METHOD_SCALED, scaled
            note = (f"TF-MoDISco's thresholds found no pattern in {len(one_hot)} windows; with thresholds "
                    f"scaled to them (a pattern needs {scaled.final_min_cluster_size} seqlets, a sign "
                    f"{scaled.min_metacluster_size}) it found {len(patterns)}")
            log.warning(note)
    modisco_seconds = time.perf_counter() - modisco_started
    if not patterns and small_data and motif is not None:
        from tfbinding.models.motif_baseline import read_jaspar

        header, counts = read_jaspar(motif)
        patterns, detail = matrix_aligned_pattern(one_hot, hypothetical, counts / counts.sum(axis=1, keepdims=True),
                                                  header.strip() or Path(motif).stem)
        passes.append({"method": METHOD_ALIGNED, "patterns": len(patterns), "detail": detail,
                       "matrix": str(motif)})
        if patterns:
            method = METHOD_ALIGNED
            note = (f"TF-MoDISco found no pattern in {len(one_hot)} windows"
                    + (" (the attributions are all zero)" if zero else "")
                    + f"; reported instead: {detail}. The letters are the windows' own, the placement the "
                      "matrix's")
            log.warning(note)
    if not patterns:
        note = no_pattern_note(len(one_hot), settings, zero)
        log.warning(note)
    matches = match_jaspar(patterns, matrices, jaspar_release, n_matches)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_meme(patterns, out / "motifs.meme")
    write_matches(matches, out / "jaspar_matches.tsv")
    _save_patterns(patterns, out / "patterns.npz")
    with atomic_path(out / "logos") as folder:
        folder.mkdir()
        logos = {}
        for pattern in patterns:
            logos[pattern.name] = folder / f"{pattern.name}.png"
            draw_logo(pattern, logos[pattern.name])
        summary = discovery_summary(path, one_hot.shape, settings, trim_threshold, jaspar_release, len(matrices),
                                    patterns, matches, versions=_versions(), modisco_seconds=modisco_seconds,
                                    total_seconds=time.perf_counter() - started, note=note, task=task,
                                    method=method, passes=passes)
        write_html(patterns, matches, logos, summary, out / "motifs.html")
    save_json(out / "motif_discovery.json", summary)
    log.info("%d pattern(s) from %d windows in %.1f s", len(patterns), len(one_hot),
             summary["total_seconds"])
    return summary
