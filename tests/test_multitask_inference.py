"""Prediction, calibration, variant scoring and interpretation of multi-task and
signal-channel models (issue 15), with hand-set Keras models (real TensorFlow).

``two_task_model`` is :func:`test_attribution.motif_model` with a second output: task
``jund`` is exactly the single-task model (logit +4 with a TGACTCA/TGAGTCA site, -4
without) and task ``anti`` its negation; with ``signal=True`` a fifth input channel adds
its window mean to the logits (weight 1 for ``jund``, 2 for ``anti``).
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pyBigWig
import pysam
import pytest

from helpers import SITE, motif_model, planted_windows
from tfbinding.cli import main
from tfbinding.data.onehot import centred_windows, encode_windows, one_hot
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.errors import InputError
from tfbinding.genomewide.predict import predict_chromosome
from tfbinding.interpret.attribution import predict_logits
from tfbinding.interpret.explain import attribute, explain
from tfbinding.interpret.score_variants import score_vcf, tsv_columns
from tfbinding.interpret.selection import WindowSet, windows_from_dataset
from tfbinding.io.bigwig import SignalTracks
from tfbinding.models.inference import load_model, predict_probabilities, with_signals

TASKS = ["jund", "anti"]
SIZES = {"chrA": 6000, "chrB": 3000}
LENGTH = 60  # the models' input (window plus flanks)


def two_task_model(length: int = LENGTH, signal: bool = False):
    """The hand-set two-task model (see the module's docstring)."""
    import keras

    single = motif_model(length)
    channels = 5 if signal else 4
    inputs = keras.Input((length, channels))
    conv = keras.layers.Conv1D(2, len(SITE), activation="relu", name="motif")
    features = [keras.layers.GlobalMaxPooling1D()(conv(inputs))]
    if signal:
        reader = keras.layers.Conv1D(1, 1, use_bias=False, name="signal")
        features.append(keras.layers.GlobalAveragePooling1D()(reader(inputs)))
    dense = keras.layers.Dense(2, activation="sigmoid", name="probability")
    model = keras.Model(inputs, dense(keras.layers.Concatenate()(features) if signal else features[0]))
    kernel, bias = single.get_layer("motif").get_weights()
    conv.set_weights([np.pad(kernel, ((0, 0), (0, channels - 4), (0, 0))), bias])
    weights = [[8.0, -8.0], [8.0, -8.0]] + ([[1.0, 2.0]] if signal else [])
    if signal:
        reader.set_weights([np.array([[[0], [0], [0], [0], [1]]], np.float32)])
    dense.set_weights([np.array(weights, np.float32), np.array([-4.0, 4.0], np.float32)])
    return model


def save(model, folder, tasks=None):
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    if tasks:  # as training writes it
        (folder / "training.json").write_text(json.dumps({"tasks": tasks}))
    return folder


def track(chrom: str) -> np.ndarray:
    """The signal bigWig's value at each base."""
    return (np.arange(SIZES[chrom]) % 7).astype(np.float32) + (chrom == "chrB")


def write_bigwig(path, chroms):
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(chrom, SIZES[chrom]) for chrom in chroms])
    for chrom in chroms:
        bw.addEntries(chrom, 0, values=track(chrom).astype(float).tolist(), span=1, step=1)
    bw.close()
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("multitask_inference")
    rng = np.random.default_rng(3)
    records, peaks = [], []
    for chrom, size in SIZES.items():
        sequence = rng.choice(np.frombuffer(b"ACGT", np.uint8), size)
        for start in range(200, size - 200, 300):
            sequence[start:start + 7] = np.frombuffer(SITE.encode(), np.uint8)
            peaks.append(f"{chrom}\t{start - 20}\t{start + 27}\n")
        records.append(f">{chrom}\n{sequence.tobytes().decode()}\n")
    (root / "genome.fa").write_text("".join(records))
    prepare_fasta(root / "genome.fa", root / "prepared.fa")
    (root / "peaks.bed").write_text("".join(peaks))
    return {"root": root, "fasta": root / "prepared.fa", "peaks": root / "peaks.bed",
            "single": save(motif_model(), root / "single"),
            "two": save(two_task_model(), root / "two", TASKS),
            "signal": save(two_task_model(signal=True), root / "signal", TASKS),
            "bigwig": write_bigwig(root / "signal.bw", ["chrA", "chrB"]),
            "bigwig_chrA": write_bigwig(root / "signal_chrA.bw", ["chrA"])}


def test_two_tasks_give_one_track_and_sites_file_per_task(setup, tmp_path):
    options = {"length": LENGTH, "stride": 20, "peaks": setup["peaks"]}
    single = predict_chromosome(setup["single"], "full", setup["fasta"], "chrA", tmp_path / "one",
                                threshold=0.5, **options)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [  # the single-task files, as before
        "chrA.bedGraph", "chrA.bw", "chrA.metrics.json", "chrA.sites.narrowPeak", "chrA.windows.npz"]
    assert {"threshold", "sites", "roc_auc", "site_recall"} <= set(single) and "tasks" not in single
    metrics = predict_chromosome(setup["two"], "full", setup["fasta"], "chrA", tmp_path / "two",
                                 threshold={"jund": 0.5, "anti": 0.5}, **{**options, "peaks": [setup["peaks"]] * 2})
    names = {p.name for p in (tmp_path / "two").iterdir()}
    assert names == {"chrA.windows.npz", "chrA.metrics.json"} | {
        f"chrA.{task}.{suffix}" for task in TASKS for suffix in ("bedGraph", "bw", "sites.narrowPeak")}
    # task jund is the single-task model: its files are the single-task ones, byte for byte
    for suffix in ("bedGraph", "bw", "sites.narrowPeak"):
        assert (tmp_path / "two" / f"chrA.jund.{suffix}").read_bytes() == (tmp_path / "one" / f"chrA.{suffix}").read_bytes()
    assert metrics["tasks"]["jund"] == {key: single[key] for key in metrics["tasks"]["jund"]}
    with np.load(tmp_path / "two" / "chrA.windows.npz") as windows:
        assert windows["scores"].shape == (metrics["windows"], 2) and list(windows["tasks"]) == TASKS
        np.testing.assert_allclose(windows["scores"].sum(axis=1), 1, atol=1e-6)  # anti = 1 - jund
    assert json.loads((tmp_path / "two" / "chrA.metrics.json").read_text())["tasks"].keys() == set(TASKS)
    with pytest.raises(InputError, match="no threshold for task"):
        predict_chromosome(setup["two"], "full", setup["fasta"], "chrA", tmp_path, length=LENGTH,
                           threshold={"jund": 0.5})
    with pytest.raises(InputError, match="one peaks file per task"):
        predict_chromosome(setup["two"], "full", setup["fasta"], "chrA", tmp_path, length=LENGTH,
                           peaks=setup["peaks"])


def test_per_task_calibration_feeds_the_predict_step(setup, tmp_path):
    X, _ = planted_windows(40, LENGTH, seed=4)
    X[::2] = np.eye(4, dtype=np.uint8)[np.zeros((20, LENGTH), int)]  # every other window: no site
    y = np.zeros((40, 2), np.float32)
    y[1::2, 0] = 1
    y[::2, 1] = 1
    w = np.ones_like(y)
    w[:4, 1] = 0  # masked for anti
    dataset = tmp_path / "dataset"
    for split in ("train", "valid", "test"):
        (dataset / split).mkdir(parents=True)
        for key, value in (("X", X), ("y", y * w), ("w", w), ("ids", np.array([f"chrA:{i}-{i + 1}" for i in range(40)]))):
            np.save(dataset / split / f"{key}.npy", value)
    (dataset / "manifest.json").write_text(json.dumps({"tasks": TASKS}))
    assert main(["calibrate", "--dataset", str(dataset), "--model", "full", "--model-dir", str(setup["two"]),
                 "--out", str(tmp_path / "threshold.json")]) == 0
    result = json.loads((tmp_path / "threshold.json").read_text())
    assert result["tasks"].keys() == set(TASKS) and "threshold" not in result
    assert result["tasks"]["anti"]["validation_windows"] == 36
    for entry in result["tasks"].values():
        assert entry["validation_fdr"] == 0 and entry["validation_recall"] == 1
    assert main(["predict", "--model", "full", "--model-dir", str(setup["two"]), "--threshold",
                 str(tmp_path / "threshold.json"), "--fasta", str(setup["fasta"]), "--chrom", "chrB",
                 "--out-dir", str(tmp_path / "pred"), "--length", str(LENGTH), "--stride", "30",
                 "--peaks", str(setup["peaks"]), str(setup["peaks"]), "--task-names", *TASKS]) == 0
    metrics = json.loads((tmp_path / "pred" / "chrB.metrics.json").read_text())
    assert {task: entry["threshold"] for task, entry in metrics["tasks"].items()} == {
        task: entry["threshold"] for task, entry in result["tasks"].items()}
    assert main(["predict", "--model", "full", "--model-dir", str(setup["two"]), "--threshold",
                 str(tmp_path / "threshold.json"), "--fasta", str(setup["fasta"]), "--chrom", "chrB",
                 "--out-dir", str(tmp_path / "pred"), "--length", str(LENGTH), "--task-names", "a", "b"]) == 1


def test_a_signal_model_reads_its_bigwig_as_the_dataset_did(setup, tmp_path):
    length, flank = 40, 10  # the model's input: 60 bp
    tracks = SignalTracks((str(setup["bigwig"]),), ("log1p",))
    predict_chromosome(setup["signal"], "improved", setup["fasta"], "chrB", tmp_path, length=length,
                       flank=flank, stride=25, threshold={"jund": 0.5, "anti": 0.5}, signals=tracks)
    with np.load(tmp_path / "chrB.windows.npz") as windows:
        starts, scores = windows["starts"], windows["scores"]
    from tfbinding.io.fasta import Genome

    X = encode_windows(Genome(setup["fasta"]).sequence("chrB"), starts, length, flank)
    padded = np.concatenate((np.zeros(flank), np.log1p(track("chrB")), np.zeros(flank))).astype(np.float32)
    S = np.stack([padded[s:s + length + 2 * flank] for s in starts])[..., None]  # 0 past the ends
    model = load_model(setup["signal"])
    np.testing.assert_allclose(scores, predict_probabilities(model, X, True, signals=S), atol=1e-6)
    assert (tmp_path / "chrB.anti.bw").exists()
    # a chromosome the bigWig lacks: an error naming both, or zeros (counted) when allowed
    lacking = SignalTracks((str(setup["bigwig_chrA"]),), ("log1p",))
    with pytest.raises(InputError, match=r"signal_chrA\.bw.*no chromosome 'chrB'.*signals_missing: zero"):
        predict_chromosome(setup["signal"], "improved", setup["fasta"], "chrB", tmp_path / "x", length=length,
                           flank=flank, stride=25, signals=lacking)
    metrics = predict_chromosome(setup["signal"], "improved", setup["fasta"], "chrB", tmp_path / "zero",
                                 length=length, flank=flank, stride=25, signals=SignalTracks(
                                     lacking.bigwigs, lacking.transforms, "zero"))
    assert metrics["signals_zeroed"] == {"nan_bases": 0, "missing_chromosome": 1}
    with np.load(tmp_path / "zero" / "chrB.windows.npz") as windows:
        np.testing.assert_allclose(windows["scores"], predict_probabilities(model, X, True, signals=0 * S),
                                   atol=1e-6)
    for wrong in (None, SignalTracks((str(setup["bigwig"]),) * 2, ("none", "none"))):
        with pytest.raises(InputError, match="reads 1 signal channel"):
            predict_chromosome(setup["signal"], "full", setup["fasta"], "chrB", tmp_path / "x", length=length,
                               flank=flank, signals=wrong)


def test_signal_tracks_come_from_the_dataset_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "signals": {"channels": [{"name": "dnase", "bigwig": {"source": "/data/d.bw"}, "transform": "log1p"}]},
        "config": {"signals_missing": "zero"}}))
    assert SignalTracks.from_manifest(tmp_path) == SignalTracks(("/data/d.bw",), ("log1p",), "zero", ("dnase",))
    (tmp_path / "manifest.json").write_text(json.dumps({"signals": {"channels": [
        {"name": "dnase", "bigwig": "https://example.org/d.bw"}]}}))
    with pytest.raises(InputError, match="not a local file"):
        SignalTracks.from_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    assert SignalTracks.from_manifest(tmp_path / "manifest.json") is None


def test_variants_get_per_task_columns_and_the_same_signal_for_ref_and_alt(setup, tmp_path):
    from tfbinding.io.fasta import Genome

    sequence = Genome(setup["fasta"]).sequence("chrA")
    def snv(pos, name):  # a substitution of the FASTA's base at 1-based pos
        ref = chr(sequence[pos - 1])
        return ("chrA", pos, name, ref, "ACGT"[("ACGT".index(ref) + 1) % 4])

    rows = [snv(3, "edge"), ("chrA", 201, "break", "T", "C"), snv(1251, "background")]  # a site at 200
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chrA,length=6000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in rows))
    tracks = SignalTracks((str(setup["bigwig"]),), ("none",))
    summary = score_vcf(setup["signal"], vcf, setup["fasta"], tmp_path / "m.tsv", tmp_path / "m.vcf.gz",
                        signals=tracks, rc_average=True)
    assert summary["tasks"] == TASKS and summary["signals"]["zeroed"] == {"nan_bases": 0, "missing_chromosome": 0}
    with open(tmp_path / "m.tsv") as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    scores = ("ref_score", "alt_score", "delta", "log2_odds_ratio", "delta_sd", "pvalue", "qvalue",
              "null_percentile")
    assert tuple(table[0]) == tsv_columns(TASKS) == (
        "chrom", "pos", "id", "ref", "alt", "kind", *(f"{c}_{t}" for t in TASKS for c in scores),
        "motif_ref", "motif_alt", "motif_effect", "in_peak", "flag")
    model = load_model(setup["signal"])
    padded = np.concatenate((np.zeros(LENGTH), track("chrA"), np.zeros(LENGTH))).astype(np.float32)
    for (_, pos, _, ref, alt), row in zip(rows, table):
        start = pos - 1 - LENGTH // 2
        S = padded[LENGTH + start:LENGTH + start + LENGTH][None, :, None]  # one signal for REF and ALT
        for allele, column in ((ref, "ref_score"), (alt, "alt_score")):
            X = centred_windows(sequence, np.array([pos - 1]), LENGTH)
            X[0, LENGTH // 2] = one_hot(allele)[0]
            expected = predict_probabilities(model, X, True, signals=S)[0]
            for index, task in enumerate(TASKS):
                assert float(row[f"{column}_{task}"]) == pytest.approx(expected[index], rel=1e-5, abs=1e-6)
    assert float(table[1]["delta_jund"]) < -0.5 and float(table[1]["delta_anti"]) > 0  # the site is broken
    assert float(table[2]["delta_jund"]) == float(table[2]["delta_anti"]) == 0  # nothing but sequence changes
    with pysam.VariantFile(str(tmp_path / "m.vcf.gz")) as annotated:
        assert {f"TFB_{k}_{t}" for k in ("REF", "ALT", "DELTA", "LOG2OR") for t in TASKS} <= set(annotated.header.info)
        for record, row in zip(annotated, table, strict=True):
            assert record.info["TFB_REF_anti"] == pytest.approx(float(row["ref_score_anti"]), rel=1e-5)
            assert record.info["TFB_DELTA_jund"][0] == pytest.approx(float(row["delta_jund"]), rel=1e-5, abs=1e-7)
    with pytest.raises(InputError, match="reads 1 signal channel"):
        score_vcf(setup["signal"], vcf, setup["fasta"], tmp_path / "x.tsv", tmp_path / "x.vcf.gz")


def test_each_task_of_a_two_task_model_is_explained_on_its_positives(setup, tmp_path):
    X, _ = planted_windows(12, LENGTH, seed=5)
    dataset = tmp_path / "dataset"
    y = np.zeros((12, 2), np.float32)
    y[:8, 0] = 1
    y[6:, 1] = 1
    (dataset / "test").mkdir(parents=True)
    for key, value in (("X", X), ("y", y), ("w", np.ones_like(y)), ("ids", np.array([f"chrA:{i}-{i + 60}" for i in range(12)]))):
        np.save(dataset / "test" / f"{key}.npy", value)
    out = {}
    for task in TASKS:
        summary = explain(setup["two"], tmp_path / task / "attributions.npz", dataset_dir=dataset, steps=16,
                          ism_windows=2, task=task)
        assert summary["task"] == task
        out[task] = dict(np.load(tmp_path / task / "attributions.npz"))
        assert str(out[task]["task"]) == task
    assert len(out["jund"]["ids"]) == 8 and len(out["anti"]["ids"]) == 6  # each task's positives
    shared = slice(6, 8), slice(0, 2)  # windows 6 and 7 are positive for both
    # anti's logit is minus jund's: so are its attributions and mutation effects
    np.testing.assert_allclose(out["anti"]["hypothetical"][shared[1]], -out["jund"]["hypothetical"][shared[0]],
                               atol=1e-5)
    np.testing.assert_allclose(out["anti"]["reference_logit"], -out["jund"]["reference_logit"], atol=1e-5)
    with pytest.raises(InputError, match="choose the one to explain"):
        explain(setup["two"], tmp_path / "x.npz", dataset_dir=dataset)
    with pytest.raises(InputError, match="task 'ctcf'"):
        explain(setup["two"], tmp_path / "x.npz", dataset_dir=dataset, task="ctcf")


def test_a_signal_model_is_explained_over_the_sequence_with_the_signal_held(setup, tmp_path):
    X, offsets = planted_windows(6, LENGTH, seed=6, bases=2)
    S = np.random.default_rng(0).random((6, LENGTH, 1)).astype(np.float32) * 3
    summary = attribute(setup["signal"], WindowSet(X, np.array([f"w{i}" for i in range(6)]), "test", S),
                        tmp_path / "a.npz", steps=32, ism_windows=[0, 3], task="anti")
    assert summary["signal_channels"] == 1 and "observed" in summary["reference"]
    result = np.load(tmp_path / "a.npz")
    model = load_model(setup["signal"])
    logits = predict_logits(model, X, task=1, signals=S)
    # the reference keeps each window's signal: contributions add up to the sequence's part
    np.testing.assert_allclose(result["reference_logit"], predict_logits(
        model, np.full(X.shape, 0.25, np.float32), task=1, signals=S), atol=1e-5)
    np.testing.assert_allclose(result["contributions"].sum(axis=(1, 2)), logits - result["reference_logit"],
                               atol=8 / 32 + 1e-3)  # the midpoint rule at the ReLU's kink
    np.testing.assert_array_equal(result["signals"], S)
    assert result["hypothetical"].shape[1:] == result["ism"].shape[1:] == (LENGTH, 4)
    # ISM mutates the sequence only: a substitution in the site, with the window's signal
    mutant = X[3:4].copy()
    mutant[0, offsets[3]] = one_hot("G")[0]
    effect = predict_logits(model, mutant, task=1, signals=S[3:4])[0] - logits[3]
    assert result["ism"][1, offsets[3], 2] == pytest.approx(effect, abs=1e-5) and effect == pytest.approx(8, abs=1e-4)
    with pytest.raises(InputError, match="reads 1 signal channel"):
        attribute(setup["signal"], WindowSet(X, np.arange(6).astype(str)), tmp_path / "b.npz", task=0)
    # a dataset's windows come with their S.npy rows
    (tmp_path / "dataset" / "valid").mkdir(parents=True)
    for key, value in (("X", X), ("S", S), ("y", np.ones((6, 2), np.float32)), ("ids", np.arange(6).astype(str))):
        np.save(tmp_path / "dataset" / "valid" / f"{key}.npy", value)
    windows = windows_from_dataset(tmp_path / "dataset", ("valid",), task=1, signals=True)
    np.testing.assert_array_equal(windows.S, S)
    explain(setup["signal"], tmp_path / "c.npz", dataset_dir=tmp_path / "dataset", splits=("valid",), task="anti",
            steps=32)
    np.testing.assert_allclose(np.load(tmp_path / "c.npz")["contributions"], result["contributions"], atol=1e-6)


def test_a_built_two_task_signal_model_is_explained_on_both_strands(tmp_path):
    from tfbinding.config import TrainingConfig
    from tfbinding.models.architectures import build_model

    model = build_model("improved", LENGTH, TrainingConfig(improved_filters=4), tasks=2, channels=5)
    save(model, tmp_path / "improved")
    X, _ = planted_windows(4, LENGTH, seed=7)
    S = np.random.default_rng(1).random((4, LENGTH, 1)).astype(np.float32)
    summary = attribute(tmp_path / "improved", WindowSet(X, np.arange(4).astype(str), "test", S),
                        tmp_path / "a.npz", rc_average=True, steps=8, ism_windows=1, task=1)
    assert summary["task"] == "task1" and summary["windows"] == 4
    result = np.load(tmp_path / "a.npz")
    loaded = load_model(tmp_path / "improved")
    expected = np.asarray(loaded.predict_on_batch(with_signals(X.astype(np.float32), S)))[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-predict_logits(loaded, X, False, task=1, signals=S))), expected,
                               atol=1e-5)
    assert np.isfinite(result["hypothetical"]).all() and result["ism"].shape == (1, LENGTH, 4)


def test_the_workflow_names_every_tasks_outputs(tmp_path):
    """A dry run of the demo with two tasks and a signal channel: per-task tracks, merges,
    interpretation folders (interpret.tasks), and the signals passed to each step."""
    from conftest import DEMO, demo_config, run_snakemake

    config = demo_config(
        name="mt", models=["full"],
        peaks=[{"name": "JUND", "peaks": str(DEMO / "synthetic_peaks.narrowPeak.gz")},
               {"name": "EBOX", "peaks": str(DEMO / "synthetic_peaks_second.narrowPeak.gz")}],
        signals=[{"name": "accessibility", "bigwig": str(DEMO / "synthetic_accessibility.bw"), "transform": "log1p"}],
        predict={"chromosomes": ["chr3"], "model": "full"},
        interpret={"model": "full", "tasks": ["EBOX"]},
        variants={"vcf": str(DEMO / "synthetic_variants.vcf"), "model": "full"})
    result = run_snakemake(tmp_path, config, "--dry-run", "--printshellcmds", "all", "interpret", quiet=False)
    # Snakemake 8.20 prints a shell command bare, later versions after "Shell command: "
    lines = [line.strip().removeprefix("Shell command: ") for line in result.stdout.splitlines()]
    commands = {line.split()[1]: line for line in lines if line.startswith("tfbinding ")}
    signals = f"--bigwigs {DEMO / 'synthetic_accessibility.bw'} --transforms log1p --signals-missing error"
    for step in ("predict", "score-variants"):
        assert "--tasks JUND EBOX" in commands[step] and signals in commands[step]
    assert "predictions/genome.EBOX.bw" in result.stdout and "predictions/chr3.JUND.sites.narrowPeak" in result.stdout
    assert "interpretation/full/EBOX/attributions.npz --task EBOX" in commands["explain"]
    assert "interpretation/full/JUND" not in result.stdout
    config["interpret"]["tasks"] = ["CTCF"]
    result = run_snakemake(tmp_path, config, "--dry-run", check=False)
    assert result.returncode != 0 and "interpret.tasks names ['CTCF']" in result.stdout + result.stderr
