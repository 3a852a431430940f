"""The out-of-fold step: every fold's test scores gathered, metrics over all windows
checked against a brute-force computation, the spread over folds, the paired bootstrap."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tfbinding.errors import InputError
from tfbinding.models.cross_validate import cross_validate, gather_out_of_fold, paired_bootstrap

FOLDS = 3


def brute_roc_auc(labels, scores):
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum(float(p > n) + 0.5 * float(p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def brute_average_precision(labels, scores):
    """Mean over positives of the precision at the threshold of that positive (no ties)."""
    return float(np.mean([labels[scores >= s].mean() for s in scores[labels == 1]]))


def brute_recall_at_fdr(labels, scores, fdr):
    best = 0.0
    for threshold in scores:
        called = scores >= threshold
        if np.mean(labels[called] == 0) <= fdr:
            best = max(best, labels[called].sum() / labels.sum())
    return best


def history(path, valid_pr):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["epoch,roc_auc,pr_auc,val_roc_auc,val_pr_auc"]
    rows += [f"{e},0.9,{0.5 + 0.1 * e},0.8,{valid_pr + 0.01 * e}" for e in range(3)]
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def folds(tmp_path):
    """Three folds' test scores (full, no_dropout, motif_baseline), metrics and histories."""
    rng = np.random.default_rng(0)
    scores, metrics, model_dirs, truth = [], [], [], {"labels": [], "full": [], "motif_baseline": []}
    for fold in range(FOLDS):
        n = 40 + 10 * fold
        labels = (rng.random(n) < 0.25).astype(np.float32)
        full = rng.random(n) + labels * 0.8
        motif = rng.random(n) + labels * 0.3
        ids = np.array([f"chr{fold}:{i * 100}-{i * 100 + 50}" for i in range(n)])
        path = tmp_path / f"fold{fold}" / "test_scores.npz"
        path.parent.mkdir()
        np.savez(path, ids=ids, labels=labels, full=full.astype(np.float32),
                 no_dropout=rng.random(n).astype(np.float32), motif_baseline=motif.astype(np.float32))
        scores.append(path)
        metrics_file = tmp_path / f"fold{fold}" / "metrics.json"
        metrics_file.write_text(json.dumps({"models": {
            "full": {"status": "ok", "roc_auc": {"value": 0.7 + 0.1 * fold}, "pr_auc": {"value": 0.5}},
            "no_dropout": {"status": "not learned" if fold == 1 else "ok", "roc_auc": {"value": 0.5}},
            "motif_baseline": {"status": "ok", "roc_auc": {"value": 0.6}}}}))
        metrics.append(metrics_file)
        dirs = {}
        for model, valid_pr in (("full", 0.6), ("no_dropout", 0.4)):
            history(tmp_path / "models" / f"fold{fold}" / model / "history.csv", valid_pr)
            dirs[model] = tmp_path / "models" / f"fold{fold}" / model
        model_dirs.append(dirs)
        truth["labels"].append(labels)
        truth["full"].append(full.astype(np.float32))
        truth["motif_baseline"].append(motif.astype(np.float32))
    return scores, metrics, model_dirs, {k: np.concatenate(v) for k, v in truth.items()}


def test_out_of_fold_metrics_match_a_brute_force_computation(folds, tmp_path):
    scores, metrics, model_dirs, truth = folds
    result = cross_validate(scores, metrics, model_dirs, tmp_path / "oof", bootstrap=50, seed=1)
    labels = truth["labels"]
    assert result["windows"] == len(labels) == 40 + 50 + 60
    assert result["positives"] == int(labels.sum())
    for model in ("full", "motif_baseline"):
        oof = result["models"][model]["out_of_fold"]
        s = truth[model].astype(np.float64)
        assert oof["roc_auc"]["value"] == pytest.approx(brute_roc_auc(labels, s))
        assert oof["pr_auc"]["value"] == pytest.approx(brute_average_precision(labels, s))
        assert oof["recall_at_10_fdr"]["value"] == pytest.approx(brute_recall_at_fdr(labels, s, 0.10))
        assert oof["recall_at_50_fdr"]["value"] == pytest.approx(brute_recall_at_fdr(labels, s, 0.50))
        assert oof["roc_auc"]["ci95_low"] <= oof["roc_auc"]["value"] <= oof["roc_auc"]["ci95_high"]
    # the per-fold spread comes from each fold's metrics.json
    spread = result["models"]["full"]["per_fold"]["roc_auc"]
    assert spread["folds"] == pytest.approx([0.7, 0.8, 0.9])
    assert spread["mean"] == pytest.approx(0.8) and spread["sd"] == pytest.approx(0.1)
    assert result["models"]["no_dropout"]["status"] == "not learned in fold(s) [1]"
    paired = result["models"]["full"]["vs_motif_baseline"]["roc_auc"]
    assert paired["difference"] == pytest.approx(brute_roc_auc(labels, truth["full"].astype(np.float64))
                                                 - brute_roc_auc(labels, truth["motif_baseline"].astype(np.float64)))
    written = json.loads((tmp_path / "oof" / "metrics.json").read_text())
    assert written["ablation"]["full is the best of the three"]["yes"] == FOLDS
    stored = np.load(tmp_path / "oof" / "scores.npz")
    assert np.array_equal(stored["fold"], np.repeat([0, 1, 2], [40, 50, 60]))
    threshold = json.loads((tmp_path / "oof" / "full.threshold.json").read_text())
    assert threshold["out_of_fold_fdr"] <= 0.1 and "threshold" in threshold
    assert (tmp_path / "oof" / "metrics.md").read_text().count("| full |") >= 2


def test_paired_bootstrap_of_a_model_against_itself_is_zero():
    rng = np.random.default_rng(1)
    labels = (rng.random(100) < 0.3).astype(float)
    scores = rng.random(100)
    paired = paired_bootstrap(labels, scores, scores, bootstrap=20)
    assert all(v["difference"] == 0 and v["ci95_low"] == v["ci95_high"] == 0 for v in paired.values())


def test_a_window_in_two_test_folds_is_refused(tmp_path):
    for fold in range(2):
        np.savez(tmp_path / f"{fold}.npz", ids=np.array(["c:0-10"]), labels=np.array([1.0]),
                 full=np.array([0.5]))
    with pytest.raises(InputError, match="two folds"):
        gather_out_of_fold([tmp_path / "0.npz", tmp_path / "1.npz"])


def test_shared_resamples_give_evaluate_scores_and_paired_bootstrap_exactly():
    from tfbinding.models.cross_validate import bootstrap_values
    from tfbinding.models.metrics import METRICS, evaluate_scores

    rng = np.random.default_rng(4)
    labels = (rng.random(300) < 0.1).astype(np.float32)
    model = np.round(labels * 0.4 + rng.random(300), 1)      # rounded: many ties
    reference = rng.random(300)
    values = bootstrap_values(labels, {"model": model, "reference": reference}, 200, 7)
    slow = evaluate_scores(labels, model, 200, 7)
    paired = paired_bootstrap(labels, model, reference, 200, 7)
    for metric in METRICS:
        low, high = np.nanpercentile(values["model"][metric], [2.5, 97.5])
        assert (low, high) == (slow[metric]["ci95_low"], slow[metric]["ci95_high"])
        deltas = values["model"][metric] - values["reference"][metric]
        assert tuple(np.nanpercentile(deltas, [2.5, 97.5])) == (paired[metric]["ci95_low"],
                                                                paired[metric]["ci95_high"])
        assert np.mean(deltas > 0) == paired[metric]["fraction_ahead"]
