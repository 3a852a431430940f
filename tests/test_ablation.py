"""The study's ablation claims, from hand-made training histories."""
from __future__ import annotations

import pytest

from tfbinding.models.ablation import ablation_claims, ablation_report, ablation_table, summarise_history


def history(train_pr, valid_pr, train_roc=None, valid_roc=None):
    return [{"epoch": float(i), "loss": 0.5, "pr_auc": t, "val_pr_auc": v,
             "roc_auc": (train_roc or train_pr)[i], "val_roc_auc": (valid_roc or valid_pr)[i]}
            for i, (t, v) in enumerate(zip(train_pr, valid_pr))]


def test_summary_takes_the_best_epoch_by_valid_pr_auc():
    summary = summarise_history(history([0.2, 0.6, 0.9], [0.3, 0.5, 0.4]))
    assert summary["best_epoch"] == 2 and summary["epochs_run"] == 3
    assert summary["best_valid_pr_auc"] == 0.5 and summary["best_train_pr_auc"] == 0.9
    assert summary["gap_pr_auc"] == pytest.approx(0.1)


def test_train_figures_come_from_inference_mode_when_recorded():
    rows = history([0.2, 0.3], [0.3, 0.5], train_roc=[0.55, 0.58])
    for row, (roc, pr) in zip(rows, [(0.70, 0.60), (0.80, 0.65)]):
        row.update(train_roc_auc=roc, train_pr_auc=pr)
    summary = summarise_history(rows)
    assert summary["best_train_roc_auc"] == 0.80 and summary["best_train_pr_auc"] == 0.65
    assert summary["gap_pr_auc"] == pytest.approx(0.15)


def test_claims_hold_and_fail_as_the_figures_say():
    summaries = {"no_dropout": summarise_history(history([0.5, 0.95], [0.4, 0.45])),
                 "no_weights": summarise_history(history([0.2, 0.4], [0.2, 0.35])),
                 "full": summarise_history(history([0.5, 0.6], [0.45, 0.55]))}
    claims = ablation_claims(summaries)
    assert claims["no_dropout overfits"]["holds"]          # gap 0.5 vs 0.05
    assert claims["no_weights lags"]["holds"]              # 0.35 < 0.55
    assert claims["full is the best of the three"]["holds"]
    summaries["no_weights"] = summarise_history(history([0.5, 0.7], [0.6, 0.7]))
    claims = ablation_claims(summaries)
    assert not claims["full is the best of the three"]["holds"] and not claims["no_weights lags"]["holds"]


def test_report_reads_histories_and_renders_a_table(tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "history.csv").write_text("epoch,loss,pr_auc,roc_auc,val_pr_auc,val_roc_auc\n"
                                        "0,0.6,0.3,0.7,0.2,0.6\n1,0.5,0.4,0.8,0.3,0.7\n")
    report = ablation_report({"full": folder})
    assert report["models"]["full"]["best_epoch"] == 2 and report["claims"] == {}
    assert "| full | 0.800 | 0.400 | 0.700 | 0.300 | 2 of 2 | +0.100 |" in ablation_table(report)


def test_several_tasks_are_named_as_means(tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "history.csv").write_text("epoch,loss,pr_auc,roc_auc,val_pr_auc,val_roc_auc\n0,0.6,0.3,0.7,0.2,0.6\n")
    assert "mean_over_tasks" not in ablation_report({"full": folder}, ["JUND"])
    report = ablation_report({"full": folder}, ["JUND", "EBOX"])
    assert report["mean_over_tasks"] == ["JUND", "EBOX"]
    assert ablation_table(report).startswith("Train and valid figures are means over the tasks (JUND, EBOX)")


def test_a_claim_that_rests_on_a_model_that_learned_nothing_is_not_answered():
    summaries = {"no_dropout": summarise_history(history([0.5, 0.95], [0.4, 0.45])),
                 "no_weights": summarise_history(history([0.2, 0.4], [0.2, 0.35])),
                 "full": summarise_history(history([0.5, 0.6], [0.45, 0.55]))}
    claims = ablation_claims(summaries, {"full": "best train ROC AUC 0.526 < 0.55"})
    for claim in ("no_dropout overfits", "no_weights lags", "full is the best of the three"):
        assert claims[claim]["holds"] is None
        assert claims[claim]["verdict"].startswith("undecided: full did not learn (best train ROC AUC 0.526")
    claims = ablation_claims(summaries, {"no_dropout": "stuck at the prior"})
    assert claims["no_dropout overfits"]["holds"] is None and claims["no_weights lags"]["verdict"] == "yes"


def test_report_reads_the_not_learned_status_from_the_history(tmp_path):
    header = "epoch,loss,pr_auc,roc_auc,val_pr_auc,val_roc_auc,train_roc_auc,train_pr_auc," \
             "train_log_loss,train_prior_log_loss\n"
    rows = {"full": "0,0.69,0.01,0.52,0.01,0.50,0.529,0.005,0.6935,0.6931\n",   # the 0.529
            "no_weights": "0,0.02,0.02,0.70,0.02,0.60,0.700,0.020,0.0230,0.0250\n"}
    for name, row in rows.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "history.csv").write_text(header + row)
    report = ablation_report({name: tmp_path / name for name in rows})
    assert "0.529" in report["models"]["full"]["not_learned"]
    assert "not_learned" not in report["models"]["no_weights"]
    assert report["claims"]["no_weights lags"]["holds"] is None
    table = ablation_table(report)
    assert "| full (not learned) |" in table and "**undecided: full did not learn" in table
