"""Attributions and ISM on a hand-made Keras model that detects the AP-1 site TGACTCA.

The model (see :func:`motif_model`) is built, not trained: its two convolution filters are
the one-hot matrices of TGACTCA and of its reverse complement TGAGTCA with bias -6, so a
filter fires (1) only on a perfect site; global max pooling and a dense layer map "site"
to logit +4 and "no site" to logit -4. Everything runs through real TensorFlow.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers import LENGTH, SITE, SITE_RC, motif_model, planted_windows, save_motif_model  # noqa: F401
from tfbinding.data.onehot import one_hot
from tfbinding.errors import InputError
from tfbinding.interpret.attribution import (
    hypothetical_contributions,
    logit_function,
    predict_logits,
    saturation_mutagenesis,
)
from tfbinding.interpret.explain import attribute, explain
from tfbinding.interpret.selection import WindowSet, windows_from_bed, windows_from_dataset
from tfbinding.models.inference import reverse_complement


def test_logits_match_the_hand_set_model():
    model = motif_model()
    X, _ = planted_windows(4)
    background = np.eye(4, dtype=np.uint8)[np.zeros((1, LENGTH), int)]  # all A: no site
    logits = predict_logits(model, np.concatenate([X, background]))
    np.testing.assert_allclose(logits, [4, 4, 4, 4, -4], atol=1e-5)
    # the strand average of a window with one TGACTCA: both strands hold a site
    np.testing.assert_allclose(predict_logits(model, X, rc_average=True), 4, atol=1e-5)


def test_attributions_concentrate_on_the_planted_site():
    model = motif_model()
    X, offsets = planted_windows(12)
    hypothetical = hypothetical_contributions(model, X, steps=64)
    contributions = hypothetical * X
    np.testing.assert_allclose(hypothetical.sum(axis=2), 0, atol=1e-5)  # mean-centred
    per_base = contributions.sum(axis=2)
    inside = np.zeros_like(per_base, dtype=bool)
    for row, offset in enumerate(offsets):
        inside[row, offset:offset + len(SITE)] = True
    # the site carries at least 95% of the absolute contribution of each window
    share = np.where(inside, np.abs(per_base), 0).sum(axis=1) / np.abs(per_base).sum(axis=1)
    assert share.min() > 0.95
    assert np.all(per_base[inside] > 0)
    # completeness: contributions add up to logit(x) - logit(reference) = 8, up to the
    # midpoint rule's error at the ReLU's kink on the path: at most one step's 8 / 64
    reference = predict_logits(model, np.full((1, LENGTH, 4), 0.25, np.float32))[0]
    np.testing.assert_allclose(per_base.sum(axis=1), predict_logits(model, X) - reference,
                               atol=8 / 64 + 1e-4)


def test_reverse_complement_average_is_strand_symmetric():
    model = motif_model()
    X, _ = planted_windows(6, seed=1)
    forward = hypothetical_contributions(model, X, rc_average=True, steps=16)
    backward = hypothetical_contributions(model, reverse_complement(X).copy(), rc_average=True, steps=16)
    np.testing.assert_allclose(reverse_complement(backward), forward, atol=1e-5)


def test_ism_is_negative_at_the_site_and_zero_elsewhere():
    model = motif_model()
    X, offsets = planted_windows(5, seed=2, bases=2)
    ism = saturation_mutagenesis(model, X, batch_size=500)
    assert ism.shape == X.shape
    assert np.all(ism[X.astype(bool)] == 0)  # the bases present
    # every substitution in the site breaks it (logit +4 -> -4) but C -> G in its middle,
    # which turns TGACTCA into TGAGTCA, the reverse complement: still a site
    expected = np.where(one_hot(SITE) == 1, 0.0, -8.0)
    expected[3, 2] = 0.0
    for row, offset in enumerate(offsets):
        np.testing.assert_allclose(ism[row, offset:offset + len(SITE)], expected, atol=1e-4)
        outside = np.delete(ism[row], np.arange(offset, offset + len(SITE)), axis=0)
        np.testing.assert_allclose(outside, 0, atol=1e-5)


def test_attribute_writes_the_npz(tmp_path):
    model_dir = save_motif_model(tmp_path / "model")
    X, offsets = planted_windows(8)
    X[0, :3] = 0  # an N run
    ids = np.array([f"chr1:{100 * i}-{100 * i + LENGTH}" for i in range(8)])
    summary = attribute(model_dir, WindowSet(X, ids, "test"), tmp_path / "out" / "attributions.npz",
                        rc_average=True, steps=16, ism_windows=3)
    with np.load(tmp_path / "out" / "attributions.npz") as data:
        assert list(data["ids"]) == list(ids)
        np.testing.assert_array_equal(data["one_hot"], X)
        np.testing.assert_allclose(data["contributions"], data["hypothetical"] * X)
        assert data["contributions"][0, :3].sum() == 0
        assert data["ism"].shape == (3, LENGTH, 4) and len(data["ism_index"]) == 3
        assert str(data["method"]) == "integrated_gradients" and bool(data["rc_average"])
    assert summary["windows"] == 8 and summary["ism_windows"] == 3
    assert not list((tmp_path / "out").glob(".*partial*"))


def test_attribute_rejects_windows_of_another_length(tmp_path):
    model_dir = save_motif_model(tmp_path / "model")
    X, _ = planted_windows(2, length=LENGTH + 1)
    with pytest.raises(InputError, match="60-bp windows"):
        attribute(model_dir, WindowSet(X, np.array(["a", "b"])), tmp_path / "a.npz")


def test_logit_function_needs_a_sigmoid_output():
    import keras

    inputs = keras.Input((LENGTH, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(InputError, match="no sigmoid"):
        logit_function(model)


def test_windows_from_dataset_takes_the_test_positives(tmp_path):
    X, _ = planted_windows(6)
    for split, labels in (("train", [1, 0, 0, 0, 0, 0]), ("test", [0, 1, 0, 1, 1, 0])):
        folder = tmp_path / split
        folder.mkdir()
        np.save(folder / "X.npy", X)
        np.save(folder / "y.npy", np.array(labels, np.float32)[:, None])
        np.save(folder / "ids.npy", np.array([f"{split}:{i}-{i + 1}" for i in range(6)]))
    windows = windows_from_dataset(tmp_path)
    assert list(windows.ids) == ["test:1-2", "test:3-4", "test:4-5"]
    np.testing.assert_array_equal(windows.X, X[[1, 3, 4]])
    both = windows_from_dataset(tmp_path, splits=("train", "test"), max_windows=2)
    assert len(both) == 2
    with pytest.raises(InputError, match="no complete split"):
        windows_from_dataset(tmp_path, splits=("valid",))


def test_windows_from_bed_resizes_regions_around_their_centres(tmp_path):
    from tfbinding.data.prepare_genome import prepare_fasta

    rng = np.random.default_rng(3)
    sequences = {name: "".join(rng.choice(list("ACGT"), size))
                 for name, size in (("chr1", 300), ("chr2", 80))}
    (tmp_path / "g.fa").write_text("".join(f">{name}\n{seq}\n" for name, seq in sequences.items()))
    prepare_fasta(tmp_path / "g.fa", tmp_path / "prepared.fa")
    (tmp_path / "r.bed").write_text("chr2\t10\t70\nchr1\t100\t111\n")
    windows = windows_from_bed(tmp_path / "r.bed", tmp_path / "prepared.fa", 101)
    assert list(windows.ids) == ["chr2:10-70", "chr1:100-111"]
    np.testing.assert_array_equal(windows.X[1], one_hot(sequences["chr1"][55:156]))
    np.testing.assert_array_equal(windows.X[0, :10], 0)
    np.testing.assert_array_equal(windows.X[0, 10:90], one_hot(sequences["chr2"]))
    np.testing.assert_array_equal(windows.X[0, 90:], 0)


def test_explain_from_paths(tmp_path):
    from tfbinding.data.prepare_genome import prepare_fasta

    model_dir = save_motif_model(tmp_path / "model")
    X, _ = planted_windows(4)
    folder = tmp_path / "dataset" / "test"
    folder.mkdir(parents=True)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", np.array([[1], [0], [1], [1]], np.float32))
    np.save(folder / "ids.npy", np.array([f"chr1:{i}-{i + LENGTH}" for i in range(4)]))
    summary = explain(model_dir, tmp_path / "a.npz", dataset_dir=tmp_path / "dataset", ism_windows=1)
    assert summary["windows"] == 3 and summary["ism_windows"] == 1
    (tmp_path / "g.fa").write_text(">chr1\n" + "A" * 100 + "TGACTCA" + "C" * 100 + "\n")
    prepare_fasta(tmp_path / "g.fa", tmp_path / "prepared.fa")
    (tmp_path / "r.bed").write_text("chr1\t100\t107\tsite\nchr1\t0\t10\tnone\n")
    explain(model_dir, tmp_path / "b.npz", bed=tmp_path / "r.bed", fasta=tmp_path / "prepared.fa")
    with np.load(tmp_path / "b.npz") as data:
        np.testing.assert_allclose(data["logits"], [4, -4], atol=1e-5)
        assert list(data["ids"]) == ["chr1:100-107", "chr1:0-10"]
    with pytest.raises(InputError, match="either a dataset folder or a BED"):
        explain(model_dir, tmp_path / "c.npz")


def test_a_fold_ensemble_is_explained_as_the_mean_of_its_members_logits(tmp_path):
    import keras

    one = save_motif_model(tmp_path / "fold0")
    two = tmp_path / "fold1"
    two.mkdir()
    motif_model(sites=("GATAAGA", "TCTTATC")).save(two / "model.keras")   # another motif
    X, _ = planted_windows(6)
    X[1, 20:27] = one_hot("GATAAGA")
    windows = WindowSet(X, np.array([f"chr1:{i}-{i + LENGTH}" for i in range(6)]), "test")
    alone = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for folder, out in zip((one, two), alone):
        attribute(folder, windows, out, rc_average=True, steps=8, ism_windows=[0, 1, 2])
    summary = attribute([one, two], windows, tmp_path / "e.npz", rc_average=True, steps=8,
                        ism_windows=[0, 1, 2])
    with np.load(alone[0]) as a, np.load(alone[1]) as b, np.load(tmp_path / "e.npz") as e:
        for key in ("logits", "hypothetical", "contributions", "ism", "reference_logit"):
            np.testing.assert_allclose(e[key], (a[key] + b[key]) / 2, atol=1e-5)
        np.testing.assert_allclose(e["member_logits"], np.stack([a["logits"], b["logits"]]), atol=1e-6)
        assert int(e["ensemble_size"]) == 2 and list(e["model_dirs"]) == [str(one), str(two)]
        assert "ensemble_size" not in a.files
        assert not np.allclose(a["hypothetical"], b["hypothetical"])
        np.testing.assert_allclose(e["logits"][:2], [0, 4], atol=1e-5)  # (4 - 4) / 2, (4 + 4) / 2
    assert summary["ensemble_size"] == 2 and "mean" in summary["ensemble"]
    # one folder in a list is that model alone, bit for bit
    attribute([one], windows, tmp_path / "c.npz", rc_average=True, steps=8, ism_windows=[0, 1, 2])
    with np.load(alone[0]) as a, np.load(tmp_path / "c.npz") as c:
        for key in a.files:
            np.testing.assert_array_equal(a[key], c[key])
    # members must agree in input length
    longer = tmp_path / "long"
    longer.mkdir()
    motif_model(LENGTH + 5).save(longer / "model.keras")
    with pytest.raises(InputError, match="differ in input"):
        attribute([one, longer], windows, tmp_path / "x.npz")
    with pytest.raises(InputError, match="no model folder"):
        attribute([], windows, tmp_path / "x.npz")
    keras.backend.clear_session()


def test_a_folds_dataset_gives_every_part_once(tmp_path):
    import json

    from tfbinding.layout import fold_parts

    X, _ = planted_windows(9)
    labels = np.array([1, 0, 1, 1, 1, 0, 0, 1, 1], np.float32)
    parts = [np.arange(0, 3), np.arange(3, 6), np.arange(6, 9)]
    (tmp_path / "manifest.json").write_text(json.dumps({"folds": 3}))
    for fold in range(3):
        for split, members in fold_parts(fold, 3).items():
            rows = np.concatenate([parts[p] for p in members])
            folder = tmp_path / f"fold{fold}" / split
            folder.mkdir(parents=True)
            np.save(folder / "X.npy", X[rows])
            np.save(folder / "y.npy", labels[rows, None])
            np.save(folder / "ids.npy", np.array([f"chr1:{i}-{i + 1}" for i in rows]))
    for splits in (("test",), ("train", "valid", "test")):
        windows = windows_from_dataset(tmp_path, splits=splits)
        assert list(windows.ids) == [f"chr1:{i}-{i + 1}" for i in np.flatnonzero(labels)]
        np.testing.assert_array_equal(windows.X, X[labels > 0])
    assert len(windows_from_dataset(tmp_path, max_windows=3)) == 3
    # the CLI's path: the fold models as one ensemble on every part's positives
    models = [save_motif_model(tmp_path / "models" / f"fold{k}") for k in range(3)]
    summary = explain(models, tmp_path / "e.npz", dataset_dir=tmp_path, splits=("train", "valid", "test"))
    assert summary["windows"] == int(labels.sum()) and summary["ensemble_size"] == 3
    with np.load(tmp_path / "e.npz") as data:
        np.testing.assert_allclose(data["logits"], 4, atol=1e-5)
