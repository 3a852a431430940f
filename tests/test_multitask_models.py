"""Multi-task models and signal channels as inputs (issue 15), on tiny hand-made datasets
(real TensorFlow)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from conftest import REPO, TINY_LENGTH, _tiny_split  # noqa: E402
from tfbinding.config import TrainingConfig  # noqa: E402
from tfbinding.models.architectures import build_model, pack_targets  # noqa: E402
from tfbinding.models.batches import SplitBatches  # noqa: E402
from tfbinding.models.evaluate import evaluate_models  # noqa: E402
from tfbinding.models.inference import load_model, predict_probabilities, reverse_complement  # noqa: E402
from tfbinding.models.train import train_model  # noqa: E402

TINY = TrainingConfig(epochs=2, batch_size=64, improved_batch_size=64, improved_epochs=1,
                      early_stopping_start=0)
TASKS = ["jund", "ctcf"]
MOTIF = REPO / "resources" / "motifs" / "MA0491.3.jaspar"


def _two_task_split(rng, n):
    """Task jund: TGACTCA at 10 (as tiny_dataset); task ctcf: positive when the window's
    first base is G, or so. About one label in six is masked (w == 0, y == 0)."""
    arrays = _tiny_split(rng, n)
    first = (arrays["X"][:, 0, 2] == 1).astype(np.float32)
    y = np.stack((arrays["y"][:, 0], first), axis=1)
    w = np.ones_like(y)
    for task in range(2):
        positives = y[:, task].sum()
        w[:, task] = np.where(y[:, task] == 1, n / (2 * max(positives, 1)), n / (2 * max(n - positives, 1)))
    masked = rng.random(y.shape) < 1 / 6
    y[masked], w[masked] = 0.0, 0.0
    return {**arrays, "y": y.astype(np.float32), "w": w.astype(np.float32)}


def _write(folder, make, manifest, signals: int = 0, seed: int = 0):
    rng = np.random.default_rng(seed)
    for name, n in (("train", 240), ("valid", 96), ("test", 96)):
        (folder / name).mkdir(parents=True)
        arrays = make(rng, n)
        if signals:
            # one channel: high around the motif of positives, noise elsewhere
            S = rng.random((n, TINY_LENGTH, signals)).astype(np.float32) * 0.1
            S[arrays["y"][:, 0] == 1, 8:20, 0] += 1.0
            arrays["S"] = S
        for key, array in arrays.items():
            np.save(folder / name / f"{key}.npy", array)
    (folder / "manifest.json").write_text(json.dumps({"format": "tfbinding-dataset/1", **manifest}))
    return folder


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("two_tasks") / "dataset", _two_task_split, {"tasks": TASKS})


@pytest.fixture(scope="module")
def with_signal(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("signal") / "dataset", _tiny_split,
                  {"signals": {"channels": ["dnase"]}}, signals=1)


def test_multitask_models_have_one_sigmoid_per_task():
    for name in ("full", "no_dropout", "no_weights", "improved"):
        model = build_model(name, TINY_LENGTH, TINY, prior=[0.2, 0.6], tasks=2)
        assert model.output_shape == (None, 2)
    model = build_model("full", TINY_LENGTH, TINY, prior=[0.2, 0.6], tasks=2)
    bias = model.get_layer("probability").bias.numpy()
    np.testing.assert_allclose(bias, np.log([0.2 / 0.8, 0.6 / 0.4]), rtol=1e-5)
    with pytest.raises(ValueError, match="single-task"):
        build_model("improved", TINY_LENGTH, TINY, tasks=2, pwm=np.zeros((7, 4)))


def test_masked_labels_do_not_affect_the_loss_or_the_metrics(two_tasks):
    from tfbinding.data.loader import load_dataset

    data = load_dataset(two_tasks)
    model = build_model("full", TINY_LENGTH, TINY, tasks=2)
    X = np.asarray(data.train["X"], dtype=np.float32)
    y, w = np.array(data.train["y"]), np.array(data.train["w"])
    assert (w == 0).any()
    flipped = y.copy()
    flipped[w == 0] = 1.0  # every masked label changed
    first = model.evaluate(X, pack_targets(y, w), batch_size=64, return_dict=True, verbose=0)
    second = model.evaluate(X, pack_targets(flipped, w), batch_size=64, return_dict=True, verbose=0)
    for key in ("loss", "roc_auc", "pr_auc"):
        assert first[key] == pytest.approx(second[key], rel=1e-6), key
    # and the loss is sum(w * bce) / sum(w)
    p = np.clip(model.predict(X, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    batches = [slice(i, i + 64) for i in range(0, len(y), 64)]
    expected = [(w[b] * bce[b]).sum() / w[b].sum() for b in batches]
    sizes = [len(y[b]) for b in batches]
    assert first["loss"] == pytest.approx(np.average(expected, weights=sizes), rel=1e-4)


def test_multitask_batches_pack_labels_and_weights(two_tasks):
    from tfbinding.data.loader import load_dataset

    data = load_dataset(two_tasks)
    x, target = SplitBatches(data.train, 64)[0]
    assert target.shape == (64, 4)
    np.testing.assert_array_equal(target[:, 2:], data.train["w"][:64])
    _, target = SplitBatches(data.train, 64, weighted=False)[0]
    np.testing.assert_array_equal(target[:, 2:], (np.asarray(data.train["w"][:64]) > 0).astype(np.float32))


def test_two_tasks_train_predict_and_evaluate_each_task(two_tasks, tmp_path):
    dirs = {}
    for name in ("full", "improved"):
        summary = train_model(two_tasks, name, tmp_path / name, TINY, threads=1,
                              motif=MOTIF if name == "improved" else None)
        assert summary["tasks"] == TASKS and summary["motif"] is None  # plain improved for T > 1
        dirs[name] = tmp_path / name
    with open(tmp_path / "full" / "history.csv") as handle:
        assert {"loss", "roc_auc", "pr_auc", "val_roc_auc", "val_pr_auc"} <= set(next(csv.DictReader(handle)))
    model = load_model(tmp_path / "full")
    from tfbinding.data.loader import load_dataset

    X = load_dataset(two_tasks).test["X"]
    scores = predict_probabilities(model, X, reverse_complement_average=True)
    assert scores.shape == (len(X), 2) and np.isfinite(scores).all()
    result = evaluate_models(two_tasks, dirs, tmp_path / "evaluation", bootstrap=20)
    test_w = np.load(two_tasks / "test" / "w.npy")
    for index, task in enumerate(TASKS):
        assert result["tasks"][task]["windows"] == int((test_w[:, index] > 0).sum())
        for name in dirs:
            values = result["models"][name]["tasks"][task]
            assert values["status"] in ("ok", "collapsed", "not learned")  # one epoch on tiny data
            if values["status"] == "ok":
                assert {"roc_auc", "pr_auc", "recall_at_10_fdr", "recall_at_50_fdr"} <= set(values)
            else:
                assert values["reason"] and "roc_auc" not in values
        assert (tmp_path / "evaluation" / "tasks" / task / "roc.png").stat().st_size > 0
    table = (tmp_path / "evaluation" / "metrics.md").read_text()
    assert "## jund" in table and "## ctcf" in table
    assert json.loads((tmp_path / "evaluation" / "metrics.json").read_text())["tasks"].keys() == set(TASKS)
    for name in ("roc.png", "pr.png", "ablation.md", "test_scores.npz"):
        assert (tmp_path / "evaluation" / name).stat().st_size > 0


def test_signal_channels_reverse_along_length_only():
    X = np.zeros((1, 3, 4), np.float32)
    X[0, 0, 0] = X[0, 1, 1] = X[0, 2, 3] = 1  # A C T
    S = np.array([[[1.0], [2.0], [3.0]]], np.float32)
    from tfbinding.models.inference import with_signals

    both = reverse_complement(with_signals(X, S))
    np.testing.assert_array_equal(both[..., :4], reverse_complement(X))
    np.testing.assert_array_equal(both[..., 4], [[3.0, 2.0, 1.0]])


def test_a_dataset_with_a_signal_channel_trains_and_predicts(with_signal, tmp_path):
    from tfbinding.data.loader import load_dataset

    data = load_dataset(with_signal)
    x = SplitBatches(data.train, 64, reverse_complement_half=True)[0][0]
    assert x.shape == (64, TINY_LENGTH, 5) and x.dtype == np.float32
    for name in ("full", "improved"):
        train_model(with_signal, name, tmp_path / name, TINY, threads=1,
                    motif=MOTIF if name == "improved" else None)
        model = load_model(tmp_path / name)
        assert model.input_shape == (None, TINY_LENGTH, 5)
        scores = predict_probabilities(model, data.test["X"], True, signals=data.test["S"])
        assert scores.shape == (len(data.test["X"]),) and np.isfinite(scores).all()
    result = evaluate_models(with_signal, {"full": tmp_path / "full"}, tmp_path / "evaluation", bootstrap=20)
    assert "full" in result["models"] and "tasks" not in result
