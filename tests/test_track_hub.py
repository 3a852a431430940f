"""The UCSC track hub: its three files, tracks linked by relative URL, and clear errors."""
from __future__ import annotations

import pytest

from tfbinding.cli import main
from tfbinding.errors import InputError
from tfbinding.genomewide.track_hub import write_track_hub


def _stanzas(text: str) -> list[dict[str, str]]:
    return [dict(line.split(" ", 1) for line in block.splitlines()) for block in text.strip().split("\n\n")]


def test_a_single_task_hub_points_at_the_genome_bigwig(tmp_path):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    (predictions / "genome.bw").write_bytes(b"bw")
    hub = write_track_hub(predictions / "hub", "hg19", {"": predictions / "genome.bw"}, name="jund",
                          email="me@example.org", model="full")
    assert _stanzas((hub / "hub.txt").read_text()) == [{
        "hub": "jund", "shortLabel": "tfbinding jund", "longLabel": "tfbinding jund: binding predicted by full",
        "genomesFile": "genomes.txt", "email": "me@example.org"}]
    assert _stanzas((hub / "genomes.txt").read_text()) == [{"genome": "hg19", "trackDb": "hg19/trackDb.txt"}]
    [track] = _stanzas((hub / "hg19" / "trackDb.txt").read_text())
    assert track["track"] == "jund" and track["type"] == "bigWig 0 1" and track["viewLimits"] == "0:1"
    assert track["bigDataUrl"] == "../../genome.bw"
    assert (hub / "hg19" / track["bigDataUrl"]).read_bytes() == b"bw"  # the relative URL resolves


def test_a_multi_task_hub_has_one_track_per_task(tmp_path):
    bigwigs = {task: tmp_path / f"genome.{task}.bw" for task in ("JUND", "CTCF")}
    hub = write_track_hub(tmp_path / "hub", "mm10", bigwigs, name="mt", email="a@b.org", model="improved")
    tracks = _stanzas((hub / "mm10" / "trackDb.txt").read_text())
    assert [t["track"] for t in tracks] == ["mt_JUND", "mt_CTCF"]
    assert [t["bigDataUrl"] for t in tracks] == ["../../genome.JUND.bw", "../../genome.CTCF.bw"]
    assert all(len(t["shortLabel"]) <= 17 for t in tracks)  # the hub specification's limit


@pytest.mark.parametrize("genome, email, bigwigs, message", [
    ("hg 19", "a@b.org", {"": "x.bw"}, "'hg 19' may hold only"),
    ("hg19", "nobody", {"": "x.bw"}, "no email address"),
    ("hg19", "a@b.org", {}, "at least one bigWig"),
    ("hg19", "a@b.org", {"bad task": "x.bw"}, "'bad task' may hold only"),
    # issue 22: nothing may add a line (a hub directive) to a hub file
    ("hg19", "me@example.org\nuseOneFile on", {"": "x.bw"}, r"predict.hub.email: .*control character"),
    ("hg19", "me@example.org\tx", {"": "x.bw"}, "control character"),
    ("hg19", "me @example.org", {"": "x.bw"}, "no email address"),
    ("hg19", "a@b@c.org", {"": "x.bw"}, "no email address"),
    ("hg19\ntrackDb x", "a@b.org", {"": "x.bw"}, "may hold only"),
    ("hg19", "a@b.org", {"": "x\nuseOneFile on.bw"}, "bigWig path.*control character"),
])
def test_bad_settings_are_clear_errors_and_write_nothing(tmp_path, genome, email, bigwigs, message):
    with pytest.raises(InputError, match=message):
        write_track_hub(tmp_path / "hub", genome, bigwigs, name="n", email=email, model="full")
    assert not (tmp_path / "hub").exists()


def test_model_and_hub_names_cannot_inject_lines(tmp_path):
    for options in ({"name": "n", "model": "full\nuseOneFile on"}, {"name": "n\nx", "model": "full"}):
        with pytest.raises(InputError, match="control character|may hold only"):
            write_track_hub(tmp_path / "hub", "hg19", {"": "x.bw"}, email="a@b.org", **options)
    assert not (tmp_path / "hub").exists()


def test_cli_needs_one_task_name_per_bigwig(tmp_path, capsys):
    code = main(["track-hub", "--out-dir", str(tmp_path / "hub"), "--genome", "hg19", "--email", "a@b.org",
                 "--name", "n", "--model", "full", "--bigwigs", "a.bw", "b.bw", "--task-names", "A"])
    assert code != 0 and "2 bigWig files but 1 task names" in capsys.readouterr().err
    assert main(["track-hub", "--out-dir", str(tmp_path / "hub"), "--genome", "hg19", "--email", "a@b.org",
                 "--name", "n", "--model", "full", "--bigwigs", str(tmp_path / "genome.bw")]) == 0
    assert "bigDataUrl ../../genome.bw" in (tmp_path / "hub/hg19/trackDb.txt").read_text()
