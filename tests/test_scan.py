"""The chromosome-wide scan (genomewide/scan.py) equals per-window, reverse-complement
averaged scoring, checked against Keras float32 and a float64 clone of each model."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras  # noqa: E402

from tfbinding.config import TrainingConfig  # noqa: E402
from tfbinding.data.encoding import ONE_HOT_TABLE, encode_windows  # noqa: E402
from tfbinding.data.tiling import select_windows, tile  # noqa: E402
from tfbinding.genomewide.scan import Scanner, ScanUnsupported, scan_improved  # noqa: E402
from tfbinding.models.architectures import build_improved_model, build_model  # noqa: E402
from tfbinding.models.inference import predict_probabilities  # noqa: E402
from tfbinding.models.motif_baseline import log_odds, read_jaspar  # noqa: E402

LENGTH, FLANK = 101, 200
ROW = LENGTH + 2 * FLANK
MOTIF = Path(__file__).resolve().parents[1] / "resources" / "motifs" / "MA0491.3.jaspar"
SMALL = replace(TrainingConfig(), improved_filters=16)
#: "equal within float32 rounding": the scan's distance to a float64 evaluation of the same
#: per-window model is at most FACTOR times Keras' own float32 distance to it (plus FLOOR);
#: both sum hundreds of float32 products in other orders, and the scan folds BatchNorm in
FACTOR, FLOOR = 3.0, 2e-7


@pytest.fixture(scope="module")
def chromosome() -> np.ndarray:
    """ASCII bases with N runs at both ends and inside, lowercase bases, planted sites."""
    rng = np.random.default_rng(7)
    seq = np.frombuffer(b"ACGTacgt", np.uint8)[rng.integers(0, 8, 9_000)].copy()
    seq[:150] = ord("N")
    seq[4_000:4_700] = ord("N")
    seq[6_000:6_020] = ord("n")
    seq[-90:] = ord("N")
    for at in (900, 2_500, 7_300):
        seq[at:at + 8] = np.frombuffer(b"TGACTCAT", np.uint8)
    return seq


def windows(seq: np.ndarray, stride: int) -> np.ndarray:
    """The windows `predict` scores: tiled, past-the-end and N-rich ones dropped."""
    return select_windows(seq, tile(len(seq), LENGTH, stride), LENGTH, 0.5).starts


def trained(model, channels: int = 4, tasks: int = 1, seed: int = 0) -> keras.Model:
    """One epoch on random rows, then BatchNorm statistics as after real training and an
    output spread over (0, 1) (a random model scores everything alike: a weak check)."""
    rng = np.random.default_rng(seed)
    X = (rng.integers(0, 4, (64, ROW))[..., None] == np.arange(4)).astype(np.float32)
    if channels > 4:
        X = np.concatenate((X, rng.random((64, ROW, channels - 4), dtype=np.float32)), axis=-1)
    y = rng.integers(0, 2, (64, tasks)).astype(np.float32)
    model.fit(X, np.concatenate((y, np.ones_like(y)), axis=1) if tasks > 1 else y, batch_size=32, epochs=1,
              verbose=0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, c).astype(np.float32) * rng.choice([-1, 1], c, p=[.1, .9]))
            layer.beta.assign(rng.normal(0, 0.3, c).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 0.3, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.2, 2.0, c).astype(np.float32))
        elif layer.name == "cnn_logit":
            layer.kernel.assign(rng.normal(0, 0.3, layer.kernel.shape).astype(np.float32))
    bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 3_000)]
    rows = encode_windows(bases, np.arange(0, 2_400, 20), LENGTH, FLANK).astype(np.float32)
    if channels > 4:
        rows = np.concatenate((rows, rng.random((len(rows), ROW, channels - 4), dtype=np.float32)), axis=-1)
    p = np.clip(np.asarray(model.predict_on_batch(rows), np.float64), 1e-6, 1 - 1e-6).reshape(len(rows), -1)
    z = np.log(p / (1 - p))
    scale = 1.5 / np.maximum(z.std(axis=0), 1e-3)
    for layer in model.layers:
        if layer.name in ("logit", "cnn_logit") and isinstance(layer, keras.layers.Dense):
            layer.kernel.assign((np.asarray(layer.kernel) * scale).astype(np.float32))
            layer.bias.assign((scale * (np.asarray(layer.bias) - z.mean(axis=0))).astype(np.float32))
    return model


def float64_clone(model) -> keras.Model:
    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float64"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights([np.asarray(w, np.float64) for w in model.get_weights()])
    return copy


def references(model, seq, starts, signals=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-window RC-averaged probabilities: Keras float32 (the reference path) and float64."""
    X = encode_windows(seq, starts, LENGTH, FLANK).astype(np.float32)
    if signals is not None:
        padded = np.concatenate((np.zeros((FLANK, signals.shape[1]), np.float32), signals,
                                 np.zeros((FLANK + ROW, signals.shape[1]), np.float32)))
        X = np.concatenate((X, np.stack([padded[s:s + ROW] for s in starts])), axis=-1)
    return (predict_probabilities(model, X, True),
            predict_probabilities(float64_clone(model), X.astype(np.float64), True))


def check(got: np.ndarray, keras32: np.ndarray, exact: np.ndarray, keras_error: float | None = None) -> None:
    """``keras_error``: Keras' float32 distance to ``exact`` measured on more windows (one
    window's own distance can be luckily small: a bound of rounding, not a measure)."""
    assert got.shape == keras32.shape
    scan_error = float(np.abs(got - exact).max())
    keras_error = float(np.abs(keras32 - exact).max()) if keras_error is None else keras_error
    assert scan_error <= FACTOR * keras_error + FLOOR, (scan_error, keras_error)


@pytest.fixture(scope="module")
def valid_model():
    return trained(build_improved_model(ROW, SMALL))


@pytest.mark.parametrize("stride", [1, 7, 50])
def test_scan_equals_per_window_with_flanks_on_both_strands(chromosome, valid_model, stride):
    starts = windows(chromosome, stride)
    assert starts[0] < FLANK and starts[-1] + LENGTH + FLANK > len(chromosome)  # rows off both ends
    keras32, exact = references(valid_model, chromosome, starts)
    assert keras32.std() > 0.1
    for first_layer in ("lookup", "conv"):
        for chunk in (1_000, 1 << 17):            # many chunks, and one
            check(Scanner(valid_model, chunk_bp=chunk, first_layer=first_layer).scan(chromosome, starts, FLANK),
                  keras32, exact)


def test_one_hot_input_and_irregular_windows(chromosome, valid_model):
    rng = np.random.default_rng(3)
    starts = np.concatenate(([0], np.unique(rng.integers(0, len(chromosome) - LENGTH, 300)),
                             [len(chromosome) - LENGTH]))
    keras32, exact = references(valid_model, chromosome, starts)
    got = scan_improved(valid_model, chromosome, starts, ROW, flank=FLANK, chunk_bp=1_500)
    check(got, keras32, exact)
    np.testing.assert_array_equal(got, scan_improved(valid_model, ONE_HOT_TABLE[chromosome], starts, ROW,
                                                     flank=FLANK, chunk_bp=1_500))
    check(Scanner(valid_model).scan(chromosome, starts[5:6], FLANK), keras32[5:6], exact[5:6],
          keras_error=float(np.abs(keras32 - exact).max()))


@pytest.mark.parametrize("stride", [7, 50, 1_000])
def test_motif_informed_improved(chromosome, stride):
    pwm = log_odds(read_jaspar(MOTIF)[1])
    model = trained(build_improved_model(ROW, SMALL, pwm=pwm, scan_fit=(0.4, -3.0)), seed=3)
    starts = windows(chromosome, stride)
    check(Scanner(model, chunk_bp=2_000).scan(chromosome, starts, FLANK), *references(model, chromosome, starts))


def test_multi_task_and_signal_channels(chromosome):
    model = trained(build_improved_model(ROW, SMALL, tasks=3), tasks=3, seed=4)
    starts = windows(chromosome, 7)
    got = Scanner(model, chunk_bp=2_000).scan(chromosome, starts, FLANK)
    assert got.shape == (len(starts), 3)
    check(got, *references(model, chromosome, starts))
    model = trained(build_improved_model(ROW, SMALL, channels=6), channels=6, seed=5)
    signals = np.log1p(np.random.default_rng(5).gamma(0.5, 4.0, (len(chromosome), 2))).astype(np.float32)
    check(Scanner(model, chunk_bp=2_000).scan(chromosome, starts, FLANK, signals=signals),
          *references(model, chromosome, starts, signals))


def test_same_padding_is_flagged_inexact_and_study_models_are_refused(chromosome):
    """A "same"-padded model (improved before the scan) differs at the row edges: the scan
    reads it but says it is not exact, and prediction scores it per window."""
    model = trained(build_improved_model(ROW, SMALL, padding="same"), seed=6)
    scanner = Scanner(model, chunk_bp=2_000)
    assert not scanner.plan.exact
    starts = windows(chromosome, 50)
    keras32, exact = references(model, chromosome, starts)
    assert np.abs(scanner.scan(chromosome, starts, FLANK) - keras32).max() > 100 * np.abs(keras32 - exact).max()
    assert Scanner(trained(build_improved_model(ROW, SMALL), seed=6)).plan.exact
    with pytest.raises(ScanUnsupported):
        Scanner(build_model("full", ROW, window_length=LENGTH))


def test_predict_scans_improved_and_equals_its_per_window_reference(chromosome, valid_model, tmp_path):
    """Through `predict`: the same windows, scores equal within float32 rounding, the same
    sites; `auto` picks the scan for improved and per-window scoring for a study model."""
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.genomewide.predict import predict_chromosome
    from tfbinding.models.inference import MODEL_FILE

    (tmp_path / "g.fa").write_text(">chrS\n" + chromosome.tobytes().decode() + "\n")
    prepare_fasta(tmp_path / "g.fa", tmp_path / "prepared.fa")
    (tmp_path / "improved").mkdir()
    valid_model.save(tmp_path / "improved" / MODEL_FILE)
    runs = {}
    for engine in ("per_window", "scan", "auto"):
        metrics = predict_chromosome(tmp_path / "improved", "improved", tmp_path / "prepared.fa", "chrS",
                                     tmp_path / engine, length=LENGTH, flank=FLANK, stride=50, threshold=0.6,
                                     engine=engine)
        assert metrics["engine"] == ("scan" if engine == "auto" else engine)
        with np.load(tmp_path / engine / "chrS.windows.npz") as saved:
            runs[engine] = (saved["starts"], saved["scores"])
        runs[engine] += ((tmp_path / engine / "chrS.sites.narrowPeak").read_text(),)
    np.testing.assert_array_equal(runs["scan"][0], runs["per_window"][0])
    # float32 rounding (the float64 reference bounds both in the tests above)
    np.testing.assert_allclose(runs["scan"][1], runs["per_window"][1], rtol=0, atol=1e-5)
    assert runs["scan"][2] == runs["per_window"][2] and runs["scan"][1].std() > 0.1
    (tmp_path / "full").mkdir()
    build_model("full", ROW, window_length=LENGTH).save(tmp_path / "full" / MODEL_FILE)
    metrics = predict_chromosome(tmp_path / "full", "full", tmp_path / "prepared.fa", "chrS", tmp_path / "study",
                                 length=LENGTH, flank=FLANK, stride=50)
    assert metrics["engine"] == "per_window"


def test_predict_scans_a_multi_task_model_exactly(chromosome, tmp_path):
    """A multi-task improved model (T sigmoid outputs on one trunk) scans exactly through
    `predict`: `auto` picks the scan, each task's scores equal the per-window ones within
    float32 rounding and each task's sites are the same."""
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.genomewide.predict import predict_chromosome, prediction_stem
    from tfbinding.models.inference import MODEL_FILE

    model = trained(build_improved_model(ROW, SMALL, tasks=3), tasks=3, seed=4)
    (tmp_path / "g.fa").write_text(">chrS\n" + chromosome.tobytes().decode() + "\n")
    prepare_fasta(tmp_path / "g.fa", tmp_path / "prepared.fa")
    (tmp_path / "multi").mkdir()
    model.save(tmp_path / "multi" / MODEL_FILE)
    tasks = ["a", "b", "c"]
    runs = {}
    for engine in ("per_window", "auto"):
        metrics = predict_chromosome(tmp_path / "multi", "improved", tmp_path / "prepared.fa", "chrS",
                                     tmp_path / engine, length=LENGTH, flank=FLANK, stride=10, threshold=0.6,
                                     tasks=tasks, engine=engine)
        assert metrics["engine"] == ("scan" if engine == "auto" else engine)
        with np.load(tmp_path / engine / "chrS.windows.npz") as saved:
            runs[engine] = (saved["starts"], saved["scores"])
        assert all(Path(f"{prediction_stem(tmp_path / engine, 'chrS', task)}.bw").exists() for task in tasks)
    np.testing.assert_array_equal(runs["auto"][0], runs["per_window"][0])
    assert runs["auto"][1].shape == (len(runs["auto"][0]), 3) and runs["auto"][1].std(axis=0).min() > 0.05
    np.testing.assert_allclose(runs["auto"][1], runs["per_window"][1], rtol=0, atol=1e-5)
    for task in tasks:
        sites = [(tmp_path / engine / f"chrS.{task}.sites.narrowPeak").read_text() for engine in runs]
        assert sites[0] == sites[1]
