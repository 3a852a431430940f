"""Tests for tfbinding.io.bed: strict BED/narrowPeak reading and bedtools merge."""
from __future__ import annotations

import gzip
import logging
import os
import string

import numpy as np
import pybedtools
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from tfbinding.config import is_task_table
from tfbinding.errors import InputError
from tfbinding.io.bed import NO_SUMMIT, merge_intervals, read_intervals, read_task_table, suggest_aliases

SIZES = {"chr1": 1000, "chr22": 500}


def write(tmp_path, text, name="peaks.bed", mode="w"):
    path = tmp_path / name
    if mode == "gz":
        with gzip.open(path, "wt", newline="") as handle:
            handle.write(text)
    elif mode == "crlf":
        path.write_bytes(text.replace("\n", "\r\n").encode())
    else:
        path.write_text(text)
    return path


def narrowpeak(chrom, start, end, summit_offset):
    return f"{chrom}\t{start}\t{end}\tpeak\t0\t.\t5.0\t3.0\t2.0\t{summit_offset}\n"


# --------------------------------------------------------------------------- good input

def test_reads_bed3_with_midpoint_summit_and_line_numbers(tmp_path):
    path = write(tmp_path, "chr1\t100\t200\nchr22\t0\t11\nchr1\t5\t6\n")
    got = read_intervals(path, SIZES)
    assert len(got) == 3
    assert got.chrom.tolist() == ["chr1", "chr22", "chr1"]
    assert got.start.tolist() == [100, 0, 5]
    assert got.end.tolist() == [200, 11, 6]
    assert got.summit.tolist() == [150, 5, 5]  # (start + end) // 2
    assert got.line.tolist() == [1, 2, 3]
    assert got.start.dtype == np.int64
    assert got.source == str(path)


def test_narrowpeak_summit_is_start_plus_offset_and_minus_one_means_midpoint(tmp_path):
    path = write(tmp_path, narrowpeak("chr1", 100, 200, 0) + narrowpeak("chr1", 300, 400, 99)
                 + narrowpeak("chr1", 500, 600, NO_SUMMIT))
    got = read_intervals(path, SIZES)
    assert got.summit.tolist() == [100, 399, 550]


def test_track_browser_comment_and_blank_lines_are_skipped_but_counted(tmp_path):
    text = ("track name=peaks\nbrowser position chr1:1-100\n# a comment\n\n"
            "chr1\t10\t20\n   \nchr1\t30\t40\n")
    got = read_intervals(write(tmp_path, text), SIZES)
    assert got.start.tolist() == [10, 30]
    assert got.line.tolist() == [5, 7]


def test_gzip_input(tmp_path):
    path = write(tmp_path, "chr1\t10\t20\nchr22\t1\t2\n", name="peaks.bed.gz", mode="gz")
    got = read_intervals(path, SIZES)
    assert got.chrom.tolist() == ["chr1", "chr22"]
    assert got.end.tolist() == [20, 2]


def test_crlf_line_endings_are_accepted(tmp_path):
    path = write(tmp_path, "track x\nchr1\t10\t20\n" + narrowpeak("chr1", 30, 40, 3), mode="crlf")
    assert b"\r\n" in path.read_bytes()
    got = read_intervals(path, SIZES)
    assert got.start.tolist() == [10, 30]
    assert got.summit.tolist() == [15, 33]
    assert got.line.tolist() == [2, 3]


def test_space_separated_lines_are_accepted(tmp_path):
    got = read_intervals(write(tmp_path, "chr1 10 20\n"), SIZES)
    assert (got.start.tolist(), got.end.tolist()) == ([10], [20])


def test_interval_ending_exactly_at_chromosome_end_is_fine(tmp_path):
    got = read_intervals(write(tmp_path, "chr22\t400\t500\n"), SIZES)
    assert got.end.tolist() == [500]


def test_empty_file_gives_no_intervals(tmp_path):
    got = read_intervals(write(tmp_path, "track only\n"), SIZES)
    assert len(got) == 0


def test_on_selects_one_chromosome_sorted_by_start_then_end(tmp_path):
    path = write(tmp_path, "chr1\t50\t90\nchr22\t1\t2\nchr1\t10\t30\nchr1\t10\t20\n")
    got = read_intervals(path, SIZES).on("chr1")
    assert got.start.tolist() == [10, 10, 50]
    assert got.end.tolist() == [20, 30, 90]
    assert got.line.tolist() == [4, 3, 1]
    assert len(read_intervals(path, SIZES).on("chrX")) == 0


# --------------------------------------------------------------------------- bad input

def error_of(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_intervals(path, SIZES, **kwargs)
    return str(info.value)


def test_missing_file(tmp_path):
    message = error_of(tmp_path / "nope.bed")
    assert "nope.bed" in message and "does not exist" in message


def test_missing_columns_names_file_line_and_value(tmp_path):
    path = write(tmp_path, "chr1\t10\t20\nchr1\t30\n")
    message = error_of(path)
    assert str(path) in message
    assert "line 2" in message
    assert "at least 3 columns" in message
    assert "'30'" in message


@pytest.mark.parametrize("value", ["1.5", "abc", "", "1e3"])
def test_non_integer_start(tmp_path, value):
    path = write(tmp_path, f"# header\nchr1\t{value}\t20\n")
    message = error_of(path)
    assert str(path) in message
    assert "line 2" in message
    assert "start (column 2) is not an integer" in message
    assert repr(value) in message


@pytest.mark.parametrize("value", ["1_0", "2_5"])
def test_underscore_coordinates_are_rejected(tmp_path, value):
    # parsed with int() these are 10 and 25, a valid interval [.., 100): no error is raised
    path = write(tmp_path, f"chr1\t{value}\t100\n")
    message = error_of(path)
    assert "not an integer" in message and repr(value) in message


def test_non_integer_end(tmp_path):
    path = write(tmp_path, "chr1\t10\t2O\n")
    message = error_of(path)
    assert "line 1" in message and "end (column 3)" in message and "'2O'" in message


@pytest.mark.parametrize("start, end", [(20, 20), (30, 20)])
def test_start_not_below_end(tmp_path, start, end):
    path = write(tmp_path, f"chr1\t1\t2\nchr1\t{start}\t{end}\n")
    message = error_of(path)
    assert str(path) in message
    assert "line 2" in message
    assert f"start {start} is not below end {end}" in message


@pytest.mark.parametrize("start", [-1, -5])
def test_negative_start(tmp_path, start):
    path = write(tmp_path, f"chr1\t{start}\t20\n")
    message = error_of(path)
    assert str(path) in message and "line 1" in message and f"start is negative: {start}" in message


def test_peak_past_chromosome_end(tmp_path):
    path = write(tmp_path, "chr1\t0\t10\nchr22\t450\t501\nchr22\t490\t600\n")
    message = error_of(path)
    assert str(path) in message
    assert "line 2" in message
    assert "end 501" in message and "chr22" in message and "500 bp" in message
    assert "2 interval(s)" in message


def test_past_end_allowed_when_asked(tmp_path):
    path = write(tmp_path, "chr22\t450\t501\n")
    got = read_intervals(path, SIZES, allow_past_end=True)
    assert got.end.tolist() == [501]


@pytest.mark.parametrize("offset", [100, -2, 250])
def test_summit_offset_outside_peak(tmp_path, offset):
    path = write(tmp_path, narrowpeak("chr1", 100, 200, 50) + narrowpeak("chr1", 100, 200, offset))
    message = error_of(path)
    assert str(path) in message
    assert "line 2" in message
    assert f"summit offset {offset}" in message
    assert "length 100" in message


def test_non_integer_summit_offset(tmp_path):
    path = write(tmp_path, narrowpeak("chr1", 100, 200, "12.5"))
    message = error_of(path)
    assert "line 1" in message and "summit offset (column 10)" in message and "'12.5'" in message


def test_chromosome_name_mismatch_lists_both_sets_and_suggests_aliases(tmp_path):
    path = write(tmp_path, "22\t10\t20\n1\t5\t9\n")
    message = error_of(path)
    assert str(path) in message
    assert "1, 22;" in message                 # the names of the file
    assert "FASTA has chr1, chr22" in message  # the names of the FASTA
    assert "chrom_aliases" in message
    assert "'22': 'chr22'" in message and "'1': 'chr1'" in message


def test_aliases_fix_the_mismatch(tmp_path):
    path = write(tmp_path, "22\t10\t20\n")
    got = read_intervals(path, SIZES, aliases={"22": "chr22"})
    assert got.chrom.tolist() == ["chr22"]
    assert got.start.tolist() == [10]


def test_aliased_interval_is_still_checked_against_its_fasta_chromosome(tmp_path):
    path = write(tmp_path, "22\t10\t600\n")
    message = error_of(path, aliases={"22": "chr22"})
    assert "runs past the end of chr22 (500 bp)" in message


def test_some_unknown_names_are_dropped_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "chr1\t10\t20\nchrUn_x\t1\t5\nchr22\t3\t4\n")
    with caplog.at_level(logging.WARNING, logger="tfbinding.io.bed"):
        got = read_intervals(path, SIZES)
    assert got.chrom.tolist() == ["chr1", "chr22"]
    assert got.line.tolist() == [1, 3]
    assert "chrUn_x" in caplog.text


def test_suggest_aliases_both_directions_and_mitochondria():
    assert suggest_aliases({"1", "MT", "weird"}, {"chr1", "chrM"}) == {"1": "chr1", "MT": "chrM"}
    assert suggest_aliases({"chr1", "chrM"}, {"1", "MT"}) == {"chr1": "1", "chrM": "MT"}


# --------------------------------------------------------------------------- merge_intervals

def test_merge_joins_overlapping_and_touching_intervals_and_sorts():
    starts = np.array([50, 0, 10, 20, 70], dtype=np.int64)
    ends = np.array([60, 10, 15, 30, 71], dtype=np.int64)
    m_starts, m_ends = merge_intervals(starts, ends, "chr1")
    # [0,10) and [10,15) touch -> [0,15); [20,30); [50,60); [70,71)
    assert m_starts.tolist() == [0, 20, 50, 70]
    assert m_ends.tolist() == [15, 30, 60, 71]
    assert m_starts.dtype == np.int64


def test_merge_nested_intervals():
    m = merge_intervals(np.array([0, 5, 2]), np.array([100, 10, 50]), "chr1")
    assert (m[0].tolist(), m[1].tolist()) == ([0], [100])


def test_merge_of_nothing():
    m_starts, m_ends = merge_intervals(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert m_starts.shape == (0,) and m_ends.shape == (0,)


def test_merge_agrees_with_bedtools_on_a_random_case():
    rng = np.random.default_rng(5)
    starts = rng.integers(0, 900, size=40)
    ends = starts + rng.integers(1, 60, size=40)
    m_starts, m_ends = merge_intervals(starts, ends, "chr1")
    # the union per base is unchanged, and the result is disjoint and non-touching
    covered = np.zeros(1000, bool)
    for s, e in zip(starts, ends):
        covered[s:e] = True
    merged_cover = np.zeros(1000, bool)
    for s, e in zip(m_starts, m_ends):
        merged_cover[s:e] = True
    assert np.array_equal(covered, merged_cover)
    assert np.all(m_starts[1:] > m_ends[:-1])
    assert np.all(m_ends > m_starts)


def test_merge_leaves_no_pybedtools_temp_file_behind(tmp_path):
    old = pybedtools.get_tempdir()
    pybedtools.set_tempdir(str(tmp_path))
    try:
        merged = merge_intervals(np.array([0, 5]), np.array([10, 20]), "chr1")
        assert list(tmp_path.iterdir()) == []
    finally:
        pybedtools.set_tempdir(old)
    assert (merged[0].tolist(), merged[1].tolist()) == ([0], [20])


def test_ensembl_named_fasta_with_ucsc_named_peaks_through_aliases(tmp_path):
    path = tmp_path / "ucsc.bed"
    path.write_text("chr22\t10\t20\nchrM\t1\t5\n")
    with pytest.raises(InputError, match=r"chrom_aliases: \{'chr22': '22', 'chrM': 'MT'\}"):
        read_intervals(path, {"22": 100, "MT": 50})
    intervals = read_intervals(path, {"22": 100, "MT": 50}, aliases={"chr22": "22", "chrM": "MT"})
    assert intervals.chrom.tolist() == ["22", "MT"]
    assert intervals.start.tolist() == [10, 1]


# --------------------------------------------------------------------------- odd files (issue 11)

def test_utf8_bom_is_stripped_with_a_note_and_the_first_peak_kept(tmp_path, caplog):
    path = tmp_path / "excel.bed"
    path.write_bytes(b"\xef\xbb\xbfchr1\t10\t20\nchr22\t1\t2\n")
    with caplog.at_level(logging.WARNING):
        got = read_intervals(path, SIZES)
    assert got.chrom.tolist() == ["chr1", "chr22"] and got.line.tolist() == [1, 2]
    assert "byte-order mark" in caplog.text and "\ufeff" not in caplog.text
    gz = tmp_path / "excel.bed.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_intervals(gz, SIZES).chrom.tolist() == ["chr1", "chr22"]


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_gzip_peaks_name_the_file(tmp_path, cut):
    body = gzip.compress("".join(f"chr1\t{i}\t{i + 5}\n" for i in range(0, 900, 7)).encode())
    path = tmp_path / "peaks.bed.gz"
    path.write_bytes(body[:int(len(body) * cut)])
    message = error_of(path)
    assert message.startswith(str(path)) and "truncated or corrupt" in message
    assert "\n" not in message


def test_binary_file_as_peaks_names_file_and_line(tmp_path):
    path = tmp_path / "peaks.bed"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    message = error_of(path)
    assert message.startswith(f"{path}, line ") and "binary file" in message


def test_non_utf8_byte_in_an_unused_column_names_file_line_and_value(tmp_path):
    path = tmp_path / "peaks.bed"
    path.write_bytes(b"chr1\t10\t20\tok\nchr1\t30\t40\tpe\xe9k\n")
    message = error_of(path)
    assert message.startswith(f"{path}, line 2: byte b'\\xe9' (column 14) is not UTF-8")


@pytest.mark.parametrize("value", [str(2**63), str(2**64 + 5), "9" * 5000])
def test_coordinate_above_2_to_the_63_is_a_clear_error(tmp_path, value):
    message = error_of(write(tmp_path, f"chr1\t10\t20\nchr1\t0\t{value}\n"))
    assert message.startswith(f"{tmp_path / 'peaks.bed'}, line 2: end (column 3) is too large")
    assert "2^63" in message


def test_old_mac_line_ends_still_give_one_line_each(tmp_path):
    path = tmp_path / "mac.bed"
    path.write_bytes(b"chr1\t10\t20\rchr1\t30\t40\r")
    got = read_intervals(path, SIZES)
    assert got.start.tolist() == [10, 30] and got.line.tolist() == [1, 2]


# --------------------------------------------------------------------------- task tables

SHA = "ab" * 32


@pytest.fixture
def peak_files(tmp_path):
    """peaks/a.bed and peaks/b.bed beside a table folder, tables/."""
    (tmp_path / "peaks").mkdir()
    (tmp_path / "tables").mkdir()
    for name in ("a.bed", "b.bed"):
        (tmp_path / "peaks" / name).write_text("chr1\t1\t2\n")
    return tmp_path


def test_task_table_resolves_paths_from_its_folder(peak_files):
    table = write(peak_files / "tables", "# tasks of the study\nPeaks\tsha256\tNAME\n\n"
                  f"../peaks/a.bed\t\tJUND\n{peak_files / 'peaks/b.bed'}\t{SHA}\tCTCF\n"
                  "https://example.org/x.bed.gz\t\tEBOX.2\n", name="tasks.tsv")
    assert read_task_table(table) == [
        {"name": "JUND", "peaks": os.path.normpath(peak_files / "tables/../peaks/a.bed")},
        {"name": "CTCF", "peaks": {"source": str(peak_files / "peaks/b.bed"), "sha256": SHA}},
        {"name": "EBOX.2", "peaks": "https://example.org/x.bed.gz"},
    ]
    gzipped = write(peak_files / "tables", "name\tpeaks\nJUND\t../peaks/a.bed\n", name="t.tsv.gz", mode="gz")
    assert read_task_table(gzipped)[0]["name"] == "JUND"


def test_a_relative_table_gives_relative_paths(peak_files, monkeypatch):
    monkeypatch.chdir(peak_files)
    write(peak_files / "tables", "name\tpeaks\nJUND\t../peaks/a.bed\n", name="tasks.tsv")
    assert read_task_table("tables/tasks.tsv") == [{"name": "JUND", "peaks": os.path.join("peaks", "a.bed")}]


@pytest.mark.parametrize("text, line, message", [
    ("", None, "the task table is empty"),
    ("# only a comment\n\n", None, "the task table is empty"),
    ("name\tpeaks\n", 1, "lists no task, only its header"),
    ("name\tfile\nJUND\t../peaks/a.bed\n", 1, "has no column 'peaks'"),
    ("JUND\t../peaks/a.bed\n", 1, "has no column 'name'"),
    ("name peaks\nJUND ../peaks/a.bed\n", 1, "has no column 'name'"),
    ("name\tpeaks\tcell\nJUND\t../peaks/a.bed\tK562\n", 1, "an unknown column 'cell'"),
    ("name\tpeaks\tname\nJUND\t../peaks/a.bed\tX\n", 1, "column 'name' twice"),
    ("name\tpeaks\nJUND\t../peaks/a.bed\nCTCF\t../peaks/b.bed\nJUND\t../peaks/b.bed\n", 4,
     "task name 'JUND' is given twice (first on line 2)"),
    ("name\tpeaks\nJUND\t../peaks/missing.bed\n", 2, "peaks file '../peaks/missing.bed' of task 'JUND' does not exist"),
    ("name\tpeaks\nJUND\t\n", 2, "task 'JUND' has no peaks file"),
    ("name\tpeaks\nJUN D\t../peaks/a.bed\n", 2, "task name 'JUN D'"),
    ("name\tpeaks\nJUND\t../peaks/a.bed\textra\n", 2, "3 tab-separated field(s) where the header has 2"),
    ("name\tpeaks\tmd5\nJUND\t../peaks/a.bed\tabc\n", 2, "md5 'abc' of task 'JUND' is not 32 hex digits"),
])
def test_task_table_errors_name_file_line_and_value(peak_files, text, line, message):
    table = write(peak_files / "tables", text, name="tasks.tsv")
    with pytest.raises(InputError) as err:
        read_task_table(table)
    where = f"{table}, line {line}: " if line else f"{table}: "
    assert str(err.value).startswith(where) and message in str(err.value)


def test_task_table_must_exist_and_be_local(tmp_path):
    with pytest.raises(InputError, match="the task table does not exist"):
        read_task_table(tmp_path / "absent.tsv")
    with pytest.raises(InputError, match="must be a local file"):
        read_task_table("https://example.org/tasks.tsv")
    assert is_task_table("x/Tasks.TSV") and is_task_table("t.tsv.gz")
    assert not is_task_table("peaks.bed.gz") and not is_task_table([{"name": "a", "peaks": "t.tsv"}])


_NAMES = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12)
_FILES = st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(st.tuples(_NAMES, _FILES, st.booleans(), st.sampled_from(["", SHA])), min_size=1,
                      max_size=6, unique_by=lambda task: task[0]),
       order=st.permutations(["name", "peaks", "sha256"]), blank_lines=st.booleans())
def test_task_table_round_trip(tmp_path_factory, tasks, order, blank_lines):
    """A table written from tasks reads back as those tasks, in order, paths resolved."""
    folder = tmp_path_factory.mktemp("table")
    (folder / "sub").mkdir()
    lines, expected = ["\t".join(order)], []
    for name, stem, in_sub, sha in tasks:
        relative = f"sub/{stem}.bed" if in_sub else f"{stem}.bed"
        (folder / relative).write_text("chr1\t1\t2\n")
        row = {"name": name, "peaks": relative, "sha256": sha}
        lines.append("\t".join(row[column] for column in order) + ("\n" if blank_lines else ""))
        source = str(folder / relative)
        expected.append({"name": name, "peaks": {"source": source, "sha256": sha} if sha else source})
    (folder / "tasks.tsv").write_text("\n".join(lines) + "\n")
    assert read_task_table(folder / "tasks.tsv") == expected


def test_the_demo_task_table_lists_the_multitask_demos_tasks():
    tasks = yaml.safe_load((REPO / "config/demo_multitask.yaml").read_text())["peaks"]
    assert read_task_table(REPO / "config/demo_tasks.tsv") == [
        {"name": task["name"], "peaks": str(REPO / task["peaks"])} for task in tasks]
