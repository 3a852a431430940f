"""Genome-wide prediction on a small hand-made genome, with a real (briefly trained) model."""
from __future__ import annotations

import json

import numpy as np
import pyBigWig
import pytest

pytest.importorskip("tensorflow")

from tfbinding.chromosome import build_labels, build_onehot, build_windows  # noqa: E402
from tfbinding.dataset import SplitSpec, assemble_dataset, load_dataset, split_windows  # noqa: E402
from tfbinding.evaluate import evaluate_models  # noqa: E402
from tfbinding.genome import prepare_fasta  # noqa: E402
from tfbinding.models import TrainingConfig  # noqa: E402
from tfbinding.predict import calibrate_threshold, predict_chromosome  # noqa: E402
from tfbinding.train import train_model  # noqa: E402

LENGTH = 50
SIZES = {"chrA": 60_000, "chrB": 20_000}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    peaks, fasta = [], []
    for chrom, size in SIZES.items():
        seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].copy()
        seq[1000:1500] = ord("N")
        for start in rng.choice(np.arange(2000, size - 200, 400), size // 1500, replace=False):
            for offset in range(0, 120, 30):
                seq[start + offset:start + offset + 7] = np.frombuffer(b"TGACTCA", np.uint8)
            peaks.append(f"{chrom}\t{start}\t{start + 127}\n")
        fasta.append(f">{chrom}\n" + "\n".join(seq[i:i + 60].tobytes().decode() for i in range(0, size, 60)))
    (root / "g.fa").write_text("\n".join(fasta) + "\n")
    (root / "peaks.bed").write_text("".join(peaks))
    genome = root / "prepared" / "g.fa"
    prepare_fasta(root / "g.fa", genome)
    build_windows(genome, "chrA", root / "w.npz", length=LENGTH, stride=LENGTH)
    build_labels(root / "w.npz", root / "peaks.bed", genome, "chrA", root / "l.npz", length=LENGTH)
    split_windows(["chrA"], [root / "l.npz"], root / "split.npz", length=LENGTH,
                  split=SplitSpec(fractions=(0.6, 0.2, 0.2)))
    build_onehot(root / "split.npz", genome, "chrA", root / "X")
    assemble_dataset(root / "split.npz", [root / "X"], root / "dataset")
    config = TrainingConfig(epochs=4, batch_size=64, early_stopping_start=0, learning_rate=0.05)
    train_model(root / "dataset", "full", root / "full", config, threads=1)
    return root, genome


def test_threshold_chosen_on_validation_meets_the_fdr_there(trained):
    root, _ = trained
    result = calibrate_threshold(root / "full", "full", root / "dataset", root / "threshold.json", fdr=0.1)
    assert json.loads((root / "threshold.json").read_text()) == result
    assert result["validation_fdr"] <= 0.1
    from tfbinding.train import predict_probabilities
    import keras

    data = load_dataset(root / "dataset")
    scores = predict_probabilities(keras.models.load_model(root / "full/model.keras"), data.valid["X"])
    called = scores >= result["threshold"]
    labels = np.asarray(data.valid["y"]).ravel()
    assert called.sum() == result["validation_windows_called"]
    assert (labels[called] == 0).mean() <= 0.1 if called.any() else True


def test_stride_equal_to_length_reproduces_the_evaluation_scores(trained, tmp_path):
    root, genome = trained
    evaluate_models(root / "dataset", {"full": root / "full"}, tmp_path / "evaluation", bootstrap=10)
    metrics = predict_chromosome(root / "full", "full", genome, "chrA", tmp_path / "pred", length=LENGTH,
                                 stride=LENGTH, threshold=0.5, peaks=root / "peaks.bed", chunk=700)
    with np.load(tmp_path / "evaluation/test_scores.npz") as evaluation:
        evaluated = dict(zip(evaluation["ids"].tolist(), evaluation["full"].tolist()))
    with np.load(tmp_path / "pred/chrA.windows.npz") as predicted:
        ids = [f"chrA:{s}-{s + LENGTH}" for s in predicted["starts"].tolist()]
        scores = dict(zip(ids, predicted["scores"].tolist()))
    assert set(evaluated) <= set(scores)
    np.testing.assert_allclose([scores[i] for i in evaluated], list(evaluated.values()), atol=1e-6)
    assert metrics["peaks"] > 0 and 0 <= metrics["roc_auc"] <= 1
    assert metrics["skipped_windows"]["n_fraction"] == 10  # the 500-bp N run


def test_held_out_chromosome_tracks_are_valid(trained, tmp_path):
    root, genome = trained
    metrics = predict_chromosome(root / "full", "full", genome, "chrB", tmp_path, length=LENGTH,
                                 stride=20, threshold=0.5, peaks=root / "peaks.bed")
    assert metrics["roc_auc"] > 0.5 and metrics["windows"] > 900
    rows = [line.split("\t") for line in (tmp_path / "chrB.bedGraph").read_text().splitlines()[1:]]
    starts, ends = np.array([int(r[1]) for r in rows]), np.array([int(r[2]) for r in rows])
    assert np.all(starts[1:] >= ends[:-1]) and ends.max() <= SIZES["chrB"]
    assert not ((starts < 1450) & (ends > 1050)).any()  # windows mostly in the N run are skipped
    bigwig = pyBigWig.open(str(tmp_path / "chrB.bw"))
    values = [v for _, _, v in bigwig.intervals("chrB")]
    np.testing.assert_allclose(values, [float(r[3]) for r in rows], atol=1e-4)
    bigwig.close()
    sites = (tmp_path / "chrB.sites.bed").read_text().splitlines()
    assert len(sites) == metrics["sites"]
