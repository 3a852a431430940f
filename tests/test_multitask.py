"""Multi-task labels: the label table ((N, T) labels, -1 masked), its weights, and a
two-task build on the tiny hand-made genome."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tfbinding import load_dataset
from tfbinding.data.labels import LabelRule, build_labels
from tfbinding.data.weights import balanced_weights, split_weights, task_weights
from tiny_genome import CHROMS, LENGTH, SEQUENCES, build, build_pieces

STRIDE = 50


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    hnp.arrays(np.int8, (n, 3), elements=st.sampled_from([-1, 0, 1])),
    hnp.arrays(np.int8, n, elements=st.sampled_from([-1, 0, 1, 2])))),
    st.sampled_from(["balanced", "none"]))
def test_task_weights_property(table, mode):
    labels, assignment = table
    weights = task_weights(labels, assignment, mode)
    assert weights.shape == labels.shape and weights.dtype == np.float32
    assert np.all(weights[labels < 0] == 0)              # masked labels weigh nothing
    assert np.all(weights[assignment < 0] == 0)          # dropped rows too
    for task in range(labels.shape[1]):
        for value in range(3):
            rows = (assignment == value) & (labels[:, task] >= 0)
            column = labels[rows, task]
            # each task balanced on its own unmasked rows, as one task alone would be
            expected = balanced_weights(column) if mode == "balanced" else np.ones(len(column), np.float32)
            assert np.array_equal(weights[rows, task], expected)
            if mode == "balanced" and column.any() and not column.all():
                assert np.isclose(weights[rows, task][column == 1].sum(),
                                  weights[rows, task][column == 0].sum())


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int8, st.integers(1, 40), elements=st.sampled_from([0, 1])),
       hnp.arrays(np.int8, 40, elements=st.sampled_from([-1, 0, 1, 2])))
def test_one_task_table_gives_the_single_task_weights(labels, assignment):
    assignment = assignment[:len(labels)]
    single = split_weights(labels, assignment, "balanced")
    assert np.array_equal(task_weights(labels.reshape(-1, 1), assignment, "balanced")[:, 0], single)


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    """The tiny genome's windows labelled for two tasks: its peaks, and a second set."""
    root = tmp_path_factory.mktemp("multitask")
    pieces = build_pieces(root, STRIDE)
    second = root / "second.bed"
    second.write_text("chr1\t0\t60\nchr2\t450\t600\nchr3\t200\t400\n")
    rule = LabelRule(min_overlap_bp=30, exclude_ambiguous=True)
    labels = []
    for chrom in CHROMS:
        out = root / "labels2" / f"{chrom}.npz"
        build_labels(root / "windows" / f"{chrom}.npz", [pieces["peaks"], second], pieces["fasta"],
                     chrom, out, length=LENGTH, rule=rule, task_names=["JUND", "CTCF"])
        labels.append(out)
    return {**pieces, "labels": labels, "second": second}


def test_two_task_dataset(two_tasks, tmp_path):
    from tfbinding.data.split import SplitSpec
    manifest = build(two_tasks, tmp_path, split=SplitSpec(method="chromosome", valid=("chr2",), test=("chr3",)))
    data = load_dataset(tmp_path / "dataset")
    assert manifest["tasks"] == ["JUND", "CTCF"]
    table = np.concatenate([np.load(p)["labels"] for p in two_tasks["labels"]])
    assert table.shape[1] == 2 and (table == -1).any()   # some labels masked
    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        y, w = np.asarray(split["y"]), np.asarray(split["w"])
        assert y.shape == w.shape == (len(split["ids"]), 2) and y.dtype == w.dtype == np.float32
        summary = manifest["splits"][name]
        for task_index, task in enumerate(manifest["tasks"]):
            counts = summary["tasks"][task]
            masked = w[:, task_index] == 0
            assert counts["positives"] == int(y[:, task_index].sum())
            assert counts["masked"] == int(np.count_nonzero(masked))
            assert np.all(y[masked, task_index] == 0)
            assert counts["negatives"] == int(np.count_nonzero(~masked & (y[:, task_index] == 0)))
    # every window kept: the masked labels did not drop any
    assert sum(manifest["splits"][n]["windows"] for n in ("train", "valid", "test")) + \
        manifest["totals"]["dropped"].get("block_boundary", 0) == len(table)


def test_two_task_labels_per_column_match_one_task_alone(two_tasks, tmp_path):
    rule = LabelRule(min_overlap_bp=30, exclude_ambiguous=True)
    for index, peaks in enumerate((two_tasks["peaks"], two_tasks["second"])):
        for chrom, path in zip(CHROMS, two_tasks["labels"]):
            alone = build_labels(two_tasks["root"] / "windows" / f"{chrom}.npz", peaks, two_tasks["fasta"],
                                 chrom, tmp_path / f"{index}{chrom}.npz", length=LENGTH, rule=rule)
            column = np.load(path)["labels"][:, index]
            assert alone.tolist() == column[column >= 0].tolist()
    assert SEQUENCES  # the genome is the hand-made one
