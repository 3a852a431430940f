"""One source of truth: the config schema's names and defaults equal the package's."""
from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from tfbinding.cli import build_parser
from tfbinding.config import (
    ALL_MODELS,
    LABEL_MODES,
    PREDICT_FDR,
    PREDICT_MODEL,
    PREDICT_STRIDE,
    SPLIT_METHODS,
    TRAINED_MODELS,
    WEIGHTS_MODES,
    TrainingConfig,
    WindowSpec,
)
from tfbinding.data.labels import LabelRule
from tfbinding.data.split import SplitSpec
from tfbinding.errors import InputError
from tfbinding.models.evaluate import evaluate_models

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "config"
SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text())
PROPS = SCHEMA["properties"]


def schema_defaults(section: str) -> dict:
    return {key: spec["default"] for key, spec in PROPS[section]["properties"].items() if "default" in spec}


def dataclass_defaults(cls) -> dict:
    return {f.name: f.default for f in fields(cls)}


@pytest.mark.parametrize("section, cls", [("windows", WindowSpec), ("labels", LabelRule),
                                          ("split", SplitSpec), ("training", TrainingConfig)])
def test_schema_defaults_equal_the_dataclass_defaults(section, cls):
    in_schema = schema_defaults(section)
    in_package = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclass_defaults(cls).items()}
    in_schema.pop("bed", None)  # the windows BED is a path, not a window setting
    if section == "split":  # unset folds has no schema default: the one-split config and manifest stay as before
        assert in_package.pop("folds") is None and "folds" not in in_schema
    assert in_schema == in_package


def test_schema_enums_equal_the_package_names():
    assert PROPS["models"]["items"]["enum"] == list(ALL_MODELS)
    assert PROPS["models"]["default"] == list(ALL_MODELS)
    assert PROPS["predict"]["properties"]["model"]["enum"] == list(TRAINED_MODELS)
    assert PROPS["labels"]["properties"]["mode"]["enum"] == list(LABEL_MODES)
    assert PROPS["split"]["properties"]["method"]["enum"] == list(SPLIT_METHODS)
    assert PROPS["weights"]["enum"] == list(WEIGHTS_MODES)
    assert PROPS["weights"]["default"] == WEIGHTS_MODES[0]


def test_schema_prediction_and_evaluation_defaults_equal_the_package():
    predict = schema_defaults("predict")
    assert (predict["model"], predict["stride"], predict["fdr"]) == (PREDICT_MODEL, PREDICT_STRIDE, PREDICT_FDR)
    signature = inspect.signature(evaluate_models).parameters
    assert schema_defaults("evaluation") == {"bootstrap": signature["bootstrap"].default,
                                             "seed": signature["seed"].default}


def test_cli_choices_and_defaults_come_from_the_package():
    steps = build_parser()._subparsers._group_actions[0].choices
    train = {a.dest: a for a in steps["train"]._actions}
    assert tuple(train["model"].choices) == TRAINED_MODELS
    windows = {a.dest: a.default for a in steps["windows"]._actions}
    assert (windows["length"], windows["stride"], windows["max_n_fraction"]) == (101, 101, 0.5)
    split = {a.dest: a.default for a in steps["split"]._actions}
    assert split["fractions"] == list(SplitSpec().fractions) and split["method"] == SplitSpec().method


@pytest.mark.parametrize("kwargs, message", [
    ({"length": 0}, "windows.length: 0 must be at least 1"),
    ({"flank": -1}, "windows.flank: -1 must not be negative"),
    ({"max_n_fraction": 1.5}, r"windows.max_n_fraction: 1.5 must be in \[0, 1\]"),
])
def test_window_spec_checks_itself(kwargs, message):
    with pytest.raises(InputError, match=message):
        WindowSpec(**kwargs)
    assert WindowSpec(flank=200).input_length == 501


def test_command_line_strings_take_the_schemas_types():
    from tfbinding.config import coerce_to_schema

    given = {"evaluation": {"bootstrap": "10"}, "windows": {"flank": "200", "max_n_fraction": "0.2", "bed": "null"},
             "labels": {"exclude_ambiguous": "true"}, "split": {"fractions": ["0.7", "0.2", "0.1"]},
             "name": "12", "motif": "null"}
    assert coerce_to_schema(given, SCHEMA) == {
        "evaluation": {"bootstrap": 10}, "windows": {"flank": 200, "max_n_fraction": 0.2, "bed": None},
        "labels": {"exclude_ambiguous": True}, "split": {"fractions": [0.7, 0.2, 0.1]},
        "name": "12", "motif": None}
    assert coerce_to_schema({"evaluation": {"bootstrap": "ten"}}, SCHEMA) == {"evaluation": {"bootstrap": "ten"}}


def test_config_overrides_layer_on_the_default_config(tmp_path):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1",
                             "--config", "name=override_check", "evaluation={bootstrap: 10}", "models=[full]"],
                            cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--bootstrap 10" in result.stdout and "--model full" in result.stdout
    assert "results/override_check/" in result.stdout and "--model improved" not in result.stdout


@pytest.mark.parametrize("config_file", sorted(REPO_CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_ready_configs_follow_the_schema(config_file):
    import jsonschema

    config = yaml.safe_load(config_file.read_text())
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(config)
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate({**config, "peaks": "config/demo_tasks.tsv"})
