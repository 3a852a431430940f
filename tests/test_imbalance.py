"""The study's regime in small: every negative kept, 2% positives, weak sites anywhere in
their peaks (a small version of ``benchmarks/imbalance.py``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.config import TrainingConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MOTIF = REPO / "resources" / "motifs" / "MA0491.3.jaspar"


@pytest.fixture(scope="module")
def rare_positives(tmp_path_factory):
    from tfbinding.data.dataset import assemble_dataset
    from tfbinding.data.labels import build_labels
    from tfbinding.data.onehot import build_onehot
    from tfbinding.data.prepare_genome import prepare_fasta
    from tfbinding.data.split import SplitSpec, split_windows
    from tfbinding.data.windows import build_windows
    from tfbinding.models.motif_baseline import read_jaspar
    from tfbinding.synthetic.simulate import simulate_genome

    work = tmp_path_factory.mktemp("rare")
    genome = simulate_genome(seed=3, chromosomes={"chr1": 2_500_000, "chr2": 2_500_000},
                             motif_counts=read_jaspar(MOTIF)[1], n_sites=330, site_anywhere=True)
    files = genome.write(work / "genome")
    prepare_fasta(files["genome.fa.gz"], work / "genome.fa")
    chroms = ["chr1", "chr2"]
    for chrom in chroms:
        build_windows(work / "genome.fa", chrom, work / f"{chrom}.windows.npz", length=101, stride=101)
        build_labels(work / f"{chrom}.windows.npz", files["peaks.narrowPeak.gz"], work / "genome.fa", chrom,
                     work / f"{chrom}.labels.npz", length=101)
    split_windows(chroms, [work / f"{c}.labels.npz" for c in chroms], work / "split.npz", length=101, flank=0,
                  split=SplitSpec(method="blocks", block_size=250_000, seed=0))
    for chrom in chroms:
        build_onehot(work / "split.npz", work / "genome.fa", chrom, work / chrom)
    assemble_dataset(work / "split.npz", [work / c for c in chroms], work / "dataset")
    return work / "dataset", genome


@pytest.mark.slow
def test_full_learns_at_two_percent_positives_with_every_negative_kept(rare_positives, tmp_path):
    from tfbinding.data.loader import load_dataset
    from tfbinding.models.train import train_model

    dataset, _ = rare_positives
    y = np.asarray(load_dataset(dataset).train["y"])
    assert 0.01 < y.mean() < 0.03                                      # the regime, every negative kept
    summary = train_model(dataset, "full", tmp_path / "full", TrainingConfig(epochs=5, early_stopping_start=0),
                          threads=2)
    assert summary["imbalance"] == "balanced_batches"
    assert summary["status"] == "ok" and summary["best_train_roc_auc"] >= 0.65, (summary["best_train_roc_auc"], summary["reason"])
