"""In-silico experiments (tfbinding.interpret.insilico): the dinucleotide shuffle, where and
how motifs are inserted (by hand on a tiny case), marginalization and spacing on score
functions whose answer is known, ablation, and the step end to end on a constructed Keras
model (reproducible with a seed; the factor's matrix alone when there is no pattern).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tfbinding.interpret.insilico import (
    InsilicoSettings,
    Motif,
    ablate,
    bootstrap_interval,
    centre_start,
    consensus,
    dinucleotide_shuffle,
    insert,
    insilico,
    marginalize,
    one_hot_encode,
    pair_starts,
    preferred_spacings,
    read_patterns,
    reverse_complement,
    run_experiments,
    space,
)

AP1 = "TGACTCA"


def decode(one_hot: np.ndarray) -> str:
    return "".join("ACGT"[i] if row.any() else "N" for i, row in zip(one_hot.argmax(axis=1), one_hot, strict=True))


def random_windows(n: int, length: int, seed: int = 0) -> np.ndarray:
    return np.eye(4, dtype=np.uint8)[np.random.default_rng(seed).integers(0, 4, (n, length))]


def kmer_score(weights: dict[str, float]):
    """A score function: the weighted count of each k-mer on either strand."""
    def score(X):
        out = []
        for row in X:
            text = decode(row)
            reverse = decode(reverse_complement(row))
            out.append(sum(w * (text.count(k) + (reverse.count(k) if k != reverse_complement_text(k) else 0))
                           for k, w in weights.items()))
        return np.array(out, dtype=np.float64)
    return score


def reverse_complement_text(text: str) -> str:
    return text[::-1].translate(str.maketrans("ACGT", "TGCA"))


def dinucleotides(one_hot: np.ndarray) -> np.ndarray:
    seq = one_hot.argmax(axis=1)
    counts = np.zeros((4, 4), np.int64)
    np.add.at(counts, (seq[:-1], seq[1:]), 1)
    return counts


def test_dinucleotide_shuffle_keeps_dinucleotides_and_is_seeded():
    windows = random_windows(10, 101)
    for window in windows:
        shuffled = dinucleotide_shuffle(window, np.random.default_rng(3))
        assert (dinucleotides(shuffled) == dinucleotides(window)).all()
        assert decode(shuffled)[0] == decode(window)[0] and decode(shuffled)[-1] == decode(window)[-1]
        again = dinucleotide_shuffle(window, np.random.default_rng(3))
        assert (shuffled == again).all()
    assert any((dinucleotide_shuffle(w, np.random.default_rng(1)) != w).any() for w in windows)


def test_insertion_positions_and_orientations_by_hand():
    assert centre_start(20, 3) == 9 and centre_start(21, 4) == 8
    # 3 + 4 + 2 = 9 bp centred in 20: the first starts at 10 - 4 = 6, the second at 6 + 3 + 4
    assert pair_starts(20, 3, 2, 4) == (6, 13)
    background = one_hot_encode("A" * 20)[None]
    assert decode(insert(background, one_hot_encode("CGT"), 9)[0]) == "AAAAAAAAACGTAAAAAAAA"
    assert decode(background[0]) == "A" * 20  # a copy, the input untouched
    with pytest.raises(Exception, match="does not fit"):
        insert(background, one_hot_encode("CGT"), 18)
    seen = []

    def record(X):
        seen.extend(decode(row) for row in X)
        return np.zeros(len(X))

    rows = space(record, background, Motif("a", "x", "CGT"), Motif("b", "x", "GC"), [4],
                 np.random.default_rng(0), resamples=0)
    assert [(r["orientation"], r["start_a"], r["start_b"]) for r in rows] == [
        ("++", 6, 13), ("+-", 6, 13), ("-+", 6, 13), ("--", 6, 13)]
    # seen[0] is the background itself; then one sequence per orientation
    assert seen[1:] == ["AAAAAACGTAAAAGCAAAAA",   # ++
                        "AAAAAACGTAAAAGCAAAAA",   # +-: GC is its own reverse complement
                        "AAAAAAACGAAAAGCAAAAA",   # -+: CGT reversed is ACG
                        "AAAAAAACGAAAAGCAAAAA"]
    # gaps at which the pair does not fit are left out: 3 + 15 + 2 = 20 fits, 16 does not
    rows = space(record, background, Motif("a", "x", "CGT"), Motif("b", "x", "GC"), [15, 16],
                 np.random.default_rng(0), orientations=["++"], resamples=0)
    assert [r["spacing"] for r in rows] == [15] and (rows[0]["start_a"], rows[0]["start_b"]) == (0, 18)


def test_consensus_and_bootstrap_interval():
    assert consensus(np.eye(4)[[3, 2, 0]] * 0.7 + 0.075) == "TGA"
    values = np.random.default_rng(0).normal(1.0, 1.0, 400)
    low, high = bootstrap_interval(values, np.random.default_rng(1))
    assert low < values.mean() < high and high - low < 0.3
    assert bootstrap_interval(values, np.random.default_rng(1)) == (low, high)


def test_marginalization_ranks_the_motif_the_score_rewards_first():
    backgrounds = random_windows(60, 101, seed=2)
    score = kmer_score({AP1: 2.0, "CACGTG": 0.5})
    motifs = [Motif("junk", "x", "AAAAAAA"), Motif("ebox", "x", "CACGTG"), Motif("ap1", "x", AP1)]
    rows = marginalize(score, backgrounds, motifs, np.random.default_rng(0))
    assert [r["motif"] for r in rows] == ["ap1", "ebox", "junk"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    top = rows[0]
    assert top["ci_low"] <= top["mean_delta"] <= top["ci_high"] and top["mean_delta"] == pytest.approx(2.0, abs=0.2)
    assert top["start"] == 101 // 2 - 7 // 2


def test_spacing_recovers_a_planted_preferred_gap():
    gap = 12
    a, b = "TGACTCA", "GATAAG"
    wanted = a + "N" * gap + b

    def score(X):
        out = []
        for row in X:
            text = decode(row)
            hit = any(all(w == "N" or w == t for w, t in zip(wanted, text[i:i + len(wanted)], strict=True))
                      for i in range(len(text) - len(wanted) + 1))
            out.append(3.0 * hit + 0.5 * text.count(a) + 0.2 * text.count(b))
        return np.array(out)

    backgrounds = random_windows(20, 101, seed=4)
    rows = space(score, backgrounds, Motif("a", "x", a), Motif("b", "x", b), range(0, 40),
                 np.random.default_rng(0), resamples=100, marginal={"a": 0.5, "b": 0.2})
    best = {r["orientation"]: r for r in preferred_spacings(rows)}
    assert best["++"]["spacing"] == gap and best["++"]["mean_delta"] == pytest.approx(3.7, abs=0.1)
    assert best["++"]["median_delta"] == pytest.approx(0.7, abs=0.1)
    at_gap = next(r for r in rows if r["orientation"] == "++" and r["spacing"] == gap)
    assert at_gap["excess"] == pytest.approx(3.0, abs=0.1)
    assert best["+-"]["mean_delta"] < 1.0  # the other orientations do not make the pair
    assert best["++"]["preferred"] and not best["+-"]["preferred"]  # a flat curve prefers no gap


def test_ablation_drops_the_planted_site_and_not_the_control():
    rng = np.random.default_rng(0)
    windows = random_windows(30, 101, seed=5)
    windows[:, 40:47] = one_hot_encode(AP1)
    backgrounds = random_windows(20, 101, seed=6)
    score = kmer_score({AP1: 1.0})
    motif = Motif("ap1", "x", AP1, np.array([[row, 38, 49] for row in range(30)]))
    row = ablate(score, windows, motif, backgrounds, rng, ablations=4, resamples=200)
    assert row["windows"] == 30 and row["seqlets"] == 30
    assert row["mean_drop"] > 0.9 and abs(row["control_drop"]) < 0.2
    assert row["ci_low"] <= row["mean_drop"] <= row["ci_high"]
    empty = ablate(score, windows, Motif("none", "x", AP1), backgrounds, rng)
    assert empty["windows"] == 0 and np.isnan(empty["mean_drop"])


def test_run_experiments_is_reproducible_with_a_seed():
    backgrounds = random_windows(15, 60, seed=7)
    windows = random_windows(6, 60, seed=8)
    motifs = [Motif("ap1", "x", AP1, np.array([[0, 10, 20], [3, 5, 15]])), Motif("ebox", "x", "CACGTG")]
    settings = InsilicoSettings(max_spacing=10, bootstrap=50, ablations=3)
    score = kmer_score({AP1: 1.0, "CACGTG": 0.3})
    first = run_experiments(score, backgrounds, motifs, windows, settings, np.random.default_rng(1))
    second = run_experiments(score, backgrounds, motifs, windows, settings, np.random.default_rng(1))
    assert first == second
    assert {(r["motif_a"], r["motif_b"]) for r in first["spacing"]} == {("ap1", "ap1"), ("ap1", "ebox"),
                                                                          ("ebox", "ebox")}
    assert [r["motif"] for r in first["ablation"]] == ["ap1"]
    # a motif of the same sequence as a better-ranked one is not paired again
    twins = motifs + [Motif("pattern_1", "x", AP1)]
    paired = run_experiments(score, backgrounds, twins, None, settings, np.random.default_rng(1))["spacing"]
    assert {(r["motif_a"], r["motif_b"]) for r in paired} == {(r["motif_a"], r["motif_b"]) for r in first["spacing"]}


# ---------------------------------------------------------------------------------------
# the step, end to end on a constructed model


def ap1_model(length: int):
    """A Keras model whose logit is 4 * (number of TGACTCA-like 7-mers' best match - 6.5), on
    the forward strand: a Conv1D filter that is the site's one-hot, then a global max."""
    import keras

    kernel = one_hot_encode(AP1).astype(np.float32)[:, :, None]
    inputs = keras.Input((length, 4))
    hit = keras.layers.Conv1D(1, 7, use_bias=True, activation="relu", name="site",
                              kernel_initializer=keras.initializers.Constant(kernel),
                              bias_initializer=keras.initializers.Constant(-5.5))(inputs)
    best = keras.layers.GlobalMaxPooling1D()(hit)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(4.0),
                                 bias_initializer=keras.initializers.Constant(-2.0))(best)
    return keras.Model(inputs, outputs)


def tiny_dataset(root, length: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    for split, n in (("train", 40), ("valid", 10), ("test", 10)):
        X = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (n, length))]
        y = (np.arange(n) % 4 == 0).astype(np.float32)[:, None]
        X[y[:, 0] > 0, 30:37] = one_hot_encode(AP1)
        (root / split).mkdir(parents=True)
        np.save(root / split / "X.npy", X)
        np.save(root / split / "y.npy", y)
    return X


def write_patterns(path, windows: int):
    ppm = np.eye(4)[[3, 2, 0, 1, 3, 1, 0]] * 0.9 + 0.025
    np.savez(path, pattern_1_ppm=np.vstack([np.full((2, 4), 0.25), ppm]), pattern_1_trim=np.array([2, 9]),
             pattern_2_ppm=np.eye(4)[[0, 0, 0, 0, 0]] * 0.9 + 0.025, pattern_2_trim=np.array([0, 5]),
             seqlets=np.array([[1, row, 28, 39, 0] for row in range(windows)] + [[2, 0, 60, 70, 0]]),
             seqlet_columns=np.array(["rank", "row", "start", "end", "revcomp"]))


@pytest.fixture
def step_inputs(tmp_path):
    length = 80
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    ap1_model(length).save(model_dir / "model.keras")
    X = tiny_dataset(tmp_path / "dataset", length)
    positives = X[::4]
    np.savez(tmp_path / "attributions.npz", one_hot=positives)
    write_patterns(tmp_path / "patterns.npz", len(positives))
    motif = tmp_path / "MA0491.3.jaspar"
    motif.write_text(">MA0491.3 JUND\nA [ 1 0 9 0 0 0 9 ]\nC [ 0 0 0 9 1 9 0 ]\nG [ 0 9 0 0 0 0 0 ]\n"
                     "T [ 9 0 0 0 8 0 0 ]\n")
    return tmp_path, model_dir, motif


def test_read_patterns_takes_the_trimmed_consensus_and_seqlets(step_inputs):
    root, _, _ = step_inputs
    motifs = read_patterns(root / "patterns.npz")
    assert [(m.name, m.sequence, len(m.seqlets)) for m in motifs] == [("pattern_1", AP1, 3), ("pattern_2", "AAAAA", 1)]
    assert motifs[0].seqlets[0].tolist() == [0, 28, 39]
    assert len(read_patterns(root / "patterns.npz", max_patterns=1)) == 1


def test_step_ranks_the_planted_motif_first_and_is_reproducible(step_inputs):
    root, model_dir, motif = step_inputs
    settings = InsilicoSettings(backgrounds=20, max_spacing=20, bootstrap=100, ablations=3, seed=7)
    outputs = []
    for run in ("a", "b"):
        summary = insilico(model_dir, root / "dataset", root / run, motif=motif, patterns=root / "patterns.npz",
                           attributions=root / "attributions.npz", settings=settings)
        outputs.append({name: (root / run / name).read_bytes()
                        for name in ("marginalization.tsv", "spacing.tsv", "ablation.tsv")})
        for name in ("marginalization.png", "spacing.png", "ablation.png"):
            assert (root / run / name).read_bytes()[:4] == b"\x89PNG"
    assert outputs[0] == outputs[1]
    ranking = [row["motif"] for row in summary["marginalization"]]
    assert ranking[-1] == "pattern_2" and set(ranking[:2]) == {"MA0491.3 JUND", "pattern_1"}
    assert summary["marginalization"][0]["mean_delta"] > 3 > summary["marginalization"][-1]["mean_delta"]
    assert "dinucleotide-shuffled" in summary["backgrounds"]
    ablation = {row["motif"]: row for row in summary["ablation"]}
    assert ablation["pattern_1"]["mean_drop"] > 3 and ablation["pattern_1"]["control_drop"] < 0.5
    saved = json.loads((root / "a" / "insilico.json").read_text())
    assert saved["settings"]["seed"] == 7 and saved["motifs"][0]["source"] == "factor matrix"
    other = insilico(model_dir, root / "dataset", root / "c", motif=motif, patterns=root / "patterns.npz",
                     settings=InsilicoSettings(backgrounds=20, max_spacing=5, bootstrap=10, seed=8))
    assert (root / "c" / "marginalization.tsv").read_bytes() != outputs[0]["marginalization.tsv"]
    assert other["ablation"] == []  # no attributions given: nothing to ablate


def test_step_without_patterns_runs_the_factor_matrix_and_says_so(step_inputs):
    root, model_dir, motif = step_inputs
    np.savez(root / "empty.npz", seqlets=np.zeros((0, 5), np.int64))
    summary = insilico(model_dir, root / "dataset", root / "out", motif=motif, patterns=root / "empty.npz",
                       attributions=root / "attributions.npz",
                       settings=InsilicoSettings(backgrounds=10, max_spacing=5, bootstrap=10, background="negatives"))
    assert [m["name"] for m in summary["motifs"]] == ["MA0491.3 JUND"]
    assert any("holds no pattern" in note and "factor's matrix alone" in note for note in summary["notes"])
    assert summary["marginalization"][0]["mean_delta"] > 3
    assert summary["ablation"][0]["motif"] == "MA0491.3 JUND" and summary["ablation"][0]["windows"] == 3
    assert "negative windows without N or a match" in summary["backgrounds"]
    lines = (root / "out" / "spacing.tsv").read_text().splitlines()
    assert lines[0].startswith("motif_a\tmotif_b\torientation\tspacing") and len(lines) == 1 + 4 * 6
