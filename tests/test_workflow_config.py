"""Tests for tfbinding.workflow_config: the workflow's config, read without Snakemake."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from tfbinding import workflow_config as wc
from tfbinding.io.sources import source_key

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


@pytest.fixture
def config():
    """The demo config with the schema's defaults filled in (as Snakemake's validate does)."""
    from snakemake.utils import validate

    loaded = yaml.safe_load((REPO / "config/config.yaml").read_text())
    validate(loaded, str(REPO / "workflow/schemas/config.schema.yaml"))
    return loaded


def test_coerce_overrides_touches_only_the_overridden_keys(config):
    config = {**config, "evaluation": {"bootstrap": "10", "seed": "1"}, "name": "x"}
    coerced = wc.coerce_overrides(config, ["evaluation", "absent"], SCHEMA)
    assert coerced == {"evaluation": {"bootstrap": 10, "seed": 1}}


def test_the_demo_config_reads(config):
    resolved = wc.WorkflowConfig(config)
    assert resolved.task_names == [""]
    assert resolved.interpret_tasks == [""]
    assert resolved.prepared_fasta.startswith("resources/genomes/")
    assert resolved.prepared_fasta.endswith(f"/{wc.genome_stem(resolved.genome_fasta)}.fa")
    assert resolved.sources.downloads == {}
    assert set(resolved.urls()) == {"fasta", "peaks", "blacklist", "windows_bed"}


@pytest.mark.parametrize("change, message", [
    (lambda c: c["predict"].update(chromosomes=["chr1"], model="improved", hub={}) or
     c.update(models=["full"]), "predict.model 'improved' is not in models"),
    (lambda c: c["predict"].update(chromosomes=["genome"], model="full"), "names a chromosome 'genome'"),
    (lambda c: c["predict"].update(hub={"genome": "hg19"}), "predict.hub.email is not set"),
    (lambda c: c["split"].update(fractions=[0.5, 0.5, 0.5]), "config: "),
    (lambda c: c["split"].update(method="blocks", folds=5) or c["insilico"].update(default_target=True),
     "insilico.default_target is true with split.folds"),
])
def test_cross_key_checks(config, change, message):
    config = copy.deepcopy(config)
    change(config)
    with pytest.raises(ValueError, match=message):
        wc.check_config(config)


@pytest.mark.parametrize("change, targets, message", [
    # issue 22: every key that names a model is checked against models before any job runs
    (lambda c: c.update(models=["full"]) or c["interpret"].update(model="full"), ["interpret"],
     r"variants.model 'improved' is not in models \['full'\]"),
    (lambda c: c.update(models=["full"]) or c["variants"].update(model="full"), ["interpret"],
     r"interpret.model 'improved' is not in models \['full'\]"),
    (lambda c: c.update(models=["full", "motif_baseline"]) or c["variants"].update(model="full")
     or c["interpret"].update(model="motif_baseline"), ["interpret"], "interpret.model 'motif_baseline'"),
    # a hub without predicted chromosomes would silently be no hub
    (lambda c: c["predict"].update(chromosomes=[], hub={"genome": "hg19", "email": "a@b.org"}), (),
     "predict.hub is set but predict.chromosomes is empty"),
    # hub values are checked before any job runs, as the hub step checks them
    (lambda c: c["predict"].update(chromosomes=["chr1"], model="improved",
                                   hub={"genome": "hg19", "email": "me@example.org\nuseOneFile on"}), (),
     "config: predict.hub.email: .*control character"),
    (lambda c: c["predict"].update(chromosomes=["chr1"], model="improved",
                                   hub={"genome": "hg 19", "email": "a@b.org"}), (),
     "config: predict.hub.genome: 'hg 19' may hold only"),
])
def test_model_keys_and_hub_checks(config, change, targets, message):
    config = copy.deepcopy(config)
    change(config)
    with pytest.raises(ValueError, match=message):
        wc.check_config(config, targets)


def test_model_keys_that_are_not_used_are_not_checked(config):
    config = copy.deepcopy(config)
    config.update(models=["full"])
    config["variants"].update(vcf=None)
    wc.check_config(config)  # interpret.model 'improved' matters only for the interpret target
    config["variants"].update(vcf="x.vcf")
    wc.check_config(config)  # the default target does not score variants
    config["interpret"].update(model="full")
    with pytest.raises(ValueError, match="variants.model"):
        wc.check_config(config, ["interpret"])


def test_sources_register_urls_only(tmp_path):
    sources = wc.Sources("downloads")
    assert sources.local(None, "blacklist") is None
    assert sources.local("data/peaks.bed", "peaks") == "data/peaks.bed"
    url = "https://example.org/hg19/chr22.fa.gz"
    path = sources.local({"source": url, "sha256": "AB"}, "genome.fasta")
    assert path == f"downloads/{source_key({'source': url, 'sha256': 'AB'})}/chr22.fa.gz"
    assert sources.downloads == {path: {"source": url, "sha256": "AB", "key": "genome.fasta"}}
    assert sources.url(path) == url and sources.url("data/peaks.bed") is None
    # the same file name from another source never shares a path
    assert sources.local("https://example.org/hg38/chr22.fa.gz", "genome.fasta") != path


def test_tasks_from_a_list_a_table_and_one_source(config, tmp_path):
    sources = wc.Sources("downloads")
    assert wc.read_tasks(config, sources) == {config["name"]: config["peaks"]}
    listed = {**config, "peaks": [{"name": "a", "peaks": "a.bed"}, {"name": "b", "peaks": "b.bed"}]}
    assert wc.read_tasks(listed, sources) == {"a": "a.bed", "b": "b.bed"}
    table = tmp_path / "tasks.tsv"
    (tmp_path / "a.bed").write_text("chr1\t0\t10\n")
    table.write_text("name\tpeaks\na\ta.bed\nb\thttps://example.org/b.bed\n")
    tasks = wc.read_tasks({**config, "peaks": str(table)}, sources)
    assert tasks["a"] == str(tmp_path / "a.bed") and tasks["b"].startswith("downloads/")
    twice = {**config, "peaks": [{"name": "a", "peaks": "a.bed"}, {"name": "a", "peaks": "b.bed"}]}
    with pytest.raises(ValueError, match="names a task twice"):
        wc.read_tasks(twice, sources)


def test_task_names_suffixes_dirs_and_arguments(config):
    assert wc.task_suffixes([""]) == [""] and wc.task_dirs([""]) == [""]
    assert wc.task_suffixes(["a", "b"]) == [".a", ".b"] and wc.task_dirs(["a", "b"]) == ["a/", "b/"]
    assert wc.tasks_arg({"only": "p.bed"}) == ""
    assert wc.tasks_arg({"a": "1", "b c": "2"}).split(" ", 1)[1] == "a 'b c'"
    config = copy.deepcopy(config)
    assert wc.interpret_tasks(config, ["a", "b"]) == ["a", "b"]
    config["interpret"]["tasks"] = ["b"]
    assert wc.interpret_tasks(config, ["a", "b"]) == ["b"]
    config["interpret"]["tasks"] = ["CTCF"]
    with pytest.raises(ValueError, match=r"interpret.tasks names \['CTCF'\]"):
        wc.interpret_tasks(config, ["a", "b"])


def test_signals_args():
    assert wc.signals_args([], [], "error") == ""
    args = wc.signals_args([{"name": "dnase", "transform": "log1p"}, {"name": "atac"}],
                           ["a b.bw", "c.bw"], "zero")
    assert args == "--bigwigs 'a b.bw' c.bw --transforms log1p none --signals-missing zero"


def test_alternatives_match_exactly_the_values():
    import re

    assert re.fullmatch(wc.alternatives(["chr1", "chr.2"]), "chr.2")
    assert not re.fullmatch(wc.alternatives(["chr1", "chr.2"]), "chrX2")
    assert not re.fullmatch(wc.alternatives([]), "")
    assert re.fullmatch(wc.alternatives([""]), "")


def test_dataset_config_drops_the_model_keys(config):
    kept = wc.dataset_config(config)
    assert "models" not in kept and "training" not in kept and kept["name"] == config["name"]


def test_content_ids_hash_content_and_cache_it(tmp_path):
    cache = tmp_path / "cache" / "checksums.json"
    data = tmp_path / "peaks.bed"
    data.write_text("chr1\t0\t10\n")
    ids = wc.ContentIds({}, cache)
    first = ids(str(data))
    assert len(first) == 64 and cache.exists()
    assert wc.ContentIds({}, cache)(str(data)) == first  # from the cache
    stat = data.stat()
    data.write_text("chr1\t0\t11\n")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # an older mtime: content still counts
    assert wc.ContentIds({}, cache)(str(data)) != first
    assert ids("") == "" and ids(str(tmp_path / "missing")) == ""
    downloads = {"d/k/f": {"source": "https://x/f", "key": "peaks"}}
    assert wc.ContentIds(downloads, cache)("d/k/f").startswith("https://x/f#")


def test_content_ids_survive_a_read_only_cache(tmp_path):
    cache = tmp_path / "not-a-folder"
    cache.write_text("")
    data = tmp_path / "a.bed"
    data.write_text("x")
    assert len(wc.ContentIds({}, cache / "checksums.json")(str(data))) == 64


def test_chrom_memory_grows_with_the_chromosome_and_the_attempt(tmp_path):
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t100000000\t6\t60\t61\nchr2\t50000000\t0\t60\t61\n")
    assert wc.chrom_memory_mb(fai, "chr2") == 800
    assert wc.chrom_memory_mb(fai, "chr1", attempt=2) == 2200
    assert wc.chrom_memory_mb(fai, None) == wc.chrom_memory_mb(fai, "chr1")
    assert wc.chrom_memory_mb(fai, "chr2", bytes_per_base=4) == 700


def test_shell_prefix_finds_the_package():
    plain = wc.shell_prefix(False, "/repo", "/venv/bin/python")
    assert plain.startswith("export PATH=/venv/bin:") and "TFBINDING_CONSOLE_FD=9" in plain
    conda = wc.shell_prefix(True, "/repo", "/venv/bin/python")
    assert "PYTHONPATH=/repo/src:" in conda and "python -m tfbinding" in conda


def test_every_rule_that_reads_a_configured_input_has_its_content_checksum():
    """Issue 22: a configured input replaced by other content with an older mtime reruns
    every rule that reads it: each such rule takes content_id(<input>) as a parameter."""
    import re

    inputs = ('VARIANTS["vcf"]', 'config["motif"]', "SIGNAL_BIGWIGS", "TASKS.values()", "BLACKLIST",
              "WINDOWS_BED", "GENOME_FASTA")
    missing = []
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t].*\n|\n)*)", path.read_text(), re.M):
            sections = dict(re.findall(r"^    (\w+):\n((?:        .*\n|\n)*)", body, re.M))
            if "shell" not in sections and "run" not in sections:
                continue  # a target rule (interpret): it reads other rules' outputs only
            params = sections.get("params", "")
            for key in inputs:
                if key in sections.get("input", "") and not re.search(
                        r"content\w*=.*" + re.escape(key), params, re.S):
                    missing.append(f"{path.name}: rule {name} reads {key}")
    assert not missing, missing
