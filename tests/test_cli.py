"""The command line: clear one-line errors, exit status 1, and nothing half-written."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tfbinding.cli import main
from tfbinding.data.prepare_genome import prepare_fasta


@pytest.fixture()
def genome(tmp_path):
    source = tmp_path / "tiny.fa"
    source.write_text(">chr1\n" + "ACGTN" * 60 + "\n>chr2\n" + "acgtt" * 40 + "\n")
    prepared = tmp_path / "prepared" / "tiny.fa"
    prepare_fasta(source, prepared)
    return prepared


def _windows(tmp_path, genome):
    out = tmp_path / "chr1.windows.npz"
    assert main(["windows", "--fasta", str(genome), "--chrom", "chr1", "--out", str(out),
                 "--length", "10", "--stride", "10", "--max-n-fraction", "0.2"]) == 0
    return out


def test_steps_run_from_the_command_line(tmp_path, genome):
    windows = _windows(tmp_path, genome)
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("track name=test\n# comment\nchr1\t25\t35\n")
    labels, table = tmp_path / "labels.npz", tmp_path / "split.npz"
    assert main(["labels", "--windows", str(windows), "--peaks", str(peaks), "--fasta", str(genome),
                 "--chrom", "chr1", "--out", str(labels), "--length", "10"]) == 0
    split_args = ["split", "--chroms", "chr1", "--labels", str(labels), "--out", str(table),
                  "--length", "10", "--fractions", "0.6", "0.2", "0.2"]
    # adjacent windows with flanks share bases: a random split would leak, so it is refused
    assert main(split_args + ["--flank", "2"]) == 1 and not table.exists()
    assert main(split_args + ["--flank", "0"]) == 0
    assert main(["onehot", "--split-table", str(table), "--fasta", str(genome), "--chrom", "chr1",
                 "--out-dir", str(tmp_path)]) == 0
    with np.load(labels) as archive:
        # "ACGTN" repeated: each 10-bp window is 20% N, so every one of the 30 is kept
        assert archive["starts"].tolist() == list(range(0, 300, 10))
        assert archive["labels"][:5].tolist() == [0, 0, 1, 1, 0]  # [20,30) and [30,40) touch [25,35)
    with np.load(table) as archive:
        split, starts = archive["split"], archive["starts"]
    assert np.bincount(split).tolist() == [18, 6, 6]
    for value, name in enumerate(("train", "valid", "test")):
        X = np.load(tmp_path / f"X.{name}.npy")
        assert X.shape == (np.count_nonzero(split == value), 10, 4)
        mine = starts[split == value]
        if 0 in mine:
            first = X[mine.tolist().index(0)]
            assert first[0].tolist() == [1, 0, 0, 0] and first[4].sum() == 0  # A ... N


def test_a_bad_peak_line_is_one_clear_message_and_no_output(tmp_path, genome):
    windows = _windows(tmp_path, genome)
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("chr1\t10\t20\nchr1\t290\t400\n")
    out = tmp_path / "labels.npz"
    result = subprocess.run([sys.executable, "-m", "tfbinding.cli", "labels", "--windows", str(windows),
                             "--peaks", str(peaks), "--fasta", str(genome), "--chrom", "chr1",
                             "--out", str(out), "--length", "10"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{peaks}, line 2: end 400 runs past the end of chr1 (300 bp)" in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".labels.npz.partial-*"))


def test_fractions_that_do_not_sum_to_one_are_refused(tmp_path, genome, capsys):
    windows = _windows(tmp_path, genome)
    assert main(["split", "--chroms", "chr1", "--labels", str(windows), "--out", str(tmp_path / "s.npz"),
                 "--fractions", "0.5", "0.1", "0.1"]) == 1
    assert "split.fractions: [0.5, 0.1, 0.1] sum to 0.7, not 1" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()


def test_an_absent_chromosome_lists_the_fasta_names(tmp_path, genome, capsys):
    assert main(["windows", "--fasta", str(genome), "--chrom", "chr22", "--out",
                 str(tmp_path / "w.npz")]) == 1
    message = capsys.readouterr().err
    assert "chr22" in message and "chr1, chr2" in message
    assert not (tmp_path / "w.npz").exists()


# --------------------------------------------------------------------------- issue 11

def test_empty_peaks_fail_clearly_unless_allowed(tmp_path, genome, capsys):
    windows = _windows(tmp_path, genome)
    peaks = tmp_path / "empty.bed"
    peaks.write_bytes(b"")
    args = ["labels", "--windows", str(windows), "--peaks", str(peaks), "--fasta", str(genome),
            "--chrom", "chr1", "--out", str(tmp_path / "labels.npz"), "--length", "10"]
    assert main(args) == 1
    assert "empty.bed: the peaks file holds no peak" in capsys.readouterr().err
    assert not (tmp_path / "labels.npz").exists()
    assert main(args + ["--allow-empty-peaks"]) == 0
    with np.load(tmp_path / "labels.npz") as archive:
        assert archive["labels"].sum() == 0 and len(archive["labels"]) == 30


def _in_a_small_mount(tmp_path, options: str, *command: str) -> subprocess.CompletedProcess:
    """Run ``command`` with a fresh tmpfs (mount ``options``) on tmp_path/mnt, in a private
    mount namespace (``unshare -rm``: no root needed where user namespaces are enabled)."""
    import shlex
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = (f"mount -t tmpfs -o {options} tmpfs {shlex.quote(str(mount))} || exit 99; "
              + shlex.join(command) + f"; rc=$?; ls -A {shlex.quote(str(mount))}; exit $rc")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    if result.returncode == 99 or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    return result


@pytest.mark.parametrize("options, problem", [
    ("size=64k", "no space left on the device"),
    ("ro", "the file system is read-only"),
])
def test_a_full_or_read_only_disk_is_one_line_and_leaves_nothing(tmp_path, options, problem):
    import gzip

    source = tmp_path / "big.fa.gz"
    source.write_bytes(gzip.compress(b">chr1\n" + b"ACGTACGTAC" * 50_000 + b"\n"))
    dest = tmp_path / "mnt" / "big.fa"
    result = _in_a_small_mount(tmp_path, options, sys.executable, "-m", "tfbinding", "prepare-genome",
                               "--fasta", str(source), "--out", str(dest))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tfbinding error")]
    assert errors == [f"tfbinding error: {dest}: {problem}" + errors[0].split(problem, 1)[1]]
    assert result.stdout == ""  # `ls -A` of the mount: nothing was left there


def test_error_line_also_reaches_the_console_descriptor_when_stderr_goes_to_a_log(tmp_path, genome):
    log = tmp_path / "step.log"
    script = (f"exec 9>&2; export TFBINDING_CONSOLE_FD=9; {sys.executable} -m tfbinding windows "
              f"--fasta {genome} --chrom chr22 --out {tmp_path / 'w.npz'} > {log} 2>&1")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("tfbinding error: ") and "chr22" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "tfbinding error: " in log.read_text()
