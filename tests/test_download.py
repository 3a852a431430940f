"""Downloads against a real HTTP server on 127.0.0.1 serving fixture files."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import re
import threading

import numpy as np
import pytest

from tfbinding.errors import InputError
from tfbinding.io.download import download, part_path

FASTA_GZ = gzip.compress(b">chr22\n" + b"ACGTN" * 2000 + b"\n", mtime=0)
PEAKS_GZ = gzip.compress(b"chr22\t100\t300\tp1\t0\t.\t5\t-1\t-1\t100\n", mtime=0)
# two genomes whose URLs share a file name (as UCSC's hg19 and hg38 chr22.fa.gz do)
GENOME_A = gzip.compress(b">chr9\n" + b"A" * 10_000 + b"\n", mtime=0)
GENOME_B = gzip.compress(b">chr9\n" + b"C" * 10_000 + b"\n", mtime=0)


# a large file for resumed downloads: the first answer hangs up after CUT bytes
BIG = np.random.default_rng(14).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
CUT = 1_250_000


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {"/chr22.fa.gz": FASTA_GZ, "/peaks.narrowPeak.gz": PEAKS_GZ,
             "/a/chr9.fa.gz": GENOME_A, "/b/chr9.fa.gz": GENOME_B}
    hits: dict[str, int] = {}
    requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of each GET

    def _send_big(self, status, start, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(BIG) - start))
        self.send_header("ETag", '"big-v1"')
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(BIG[start:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up on an answer it rejects

    def _big(self):
        """/big/<how>?<test>: the first request, send CUT bytes of BIG and hang up (later
        ones without a Range header get the whole file); with a Range header, answer as
        <how> says: 'resume' (206 from the byte asked), 'ignore' (200, the whole
        file), 'overlap' (206 from 1000 bytes before), 'wrong' (206 from 5 bytes after)."""
        how = self.path.split("?")[0].rsplit("/", 1)[-1]
        asked = self.headers.get("Range")
        if asked is None and self.hits[self.path] > 1:
            self._send_big(200, 0)
            return
        if asked is None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.send_header("ETag", '"big-v1"')
            self.end_headers()
            self.wfile.write(BIG[:CUT])
            self.wfile.flush()
            self.close_connection = True
            return
        start = int(asked.removeprefix("bytes=").rstrip("-"))
        if how == "ignore":
            self._send_big(200, 0)
            return
        start = {"resume": start, "overlap": start - 1000, "wrong": start + 5}[how]
        self._send_big(206, start, [("Content-Range", f"bytes {start}-{len(BIG) - 1}/{len(BIG)}")])

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        self.requests.append((self.path, dict(self.headers)))
        if self.path.startswith("/big/"):
            self._big()
            return
        if self.path == "/drops.fa.gz":  # announces the whole file, sends half, hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(FASTA_GZ)))
            self.end_headers()
            self.wfile.write(FASTA_GZ[: len(FASTA_GZ) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.hits
    httpd.shutdown()
    httpd.server_close()


def test_good_download_with_checksums(server, tmp_path):
    base, _ = server
    out = download(f"{base}/chr22.fa.gz", tmp_path / "chr22.fa.gz",
                   sha256=hashlib.sha256(FASTA_GZ).hexdigest(), md5=hashlib.md5(FASTA_GZ).hexdigest())
    assert out.read_bytes() == FASTA_GZ
    assert gzip.decompress(out.read_bytes()).startswith(b">chr22\n")


def test_wrong_checksum_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    base, _ = server
    with pytest.raises(InputError, match=r"sha256 is [0-9a-f]{64}, but the config expects 0{64}"):
        download(f"{base}/peaks.narrowPeak.gz", tmp_path / "peaks.gz", sha256="0" * 64, backoff=0)
    assert list(tmp_path.iterdir()) == []


def test_404_fails_at_once_and_says_how_to_give_a_local_file(server, tmp_path):
    base, hits = server
    with pytest.raises(InputError, match=r"HTTP 404 .*set peaks in the config to the local file's path"):
        download(f"{base}/missing.bed.gz", tmp_path / "missing.bed.gz", config_key="peaks", backoff=0)
    assert hits["/missing.bed.gz"] == 1  # a 404 is not retried
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_is_retried_then_a_clear_error(server, tmp_path):
    base, hits = server
    with pytest.raises(InputError, match=r"after 3 attempts .*genome.fasta"):
        download(f"{base}/drops.fa.gz", tmp_path / "drops.fa.gz", retries=3, backoff=0.01,
                 config_key="genome.fasta")
    assert hits["/drops.fa.gz"] == 3
    # nothing under the final name; the bytes received are kept, hidden, for a resume
    assert sorted(path.name for path in tmp_path.iterdir()) == [".drops.fa.gz.part", ".drops.fa.gz.part.json"]


def test_offline_error_names_the_url(tmp_path):
    with pytest.raises(InputError, match=r"could not download http://127.0.0.1:9/x.fa.gz"):
        download("http://127.0.0.1:9/x.fa.gz", tmp_path / "x.fa.gz", retries=1, timeout=2)


def test_rerun_does_not_download_again(server, tmp_path):
    base, hits = server
    url = f"{base}/peaks.narrowPeak.gz"
    before = hits.get("/peaks.narrowPeak.gz", 0)
    download(url, tmp_path / "peaks.gz")
    download(url, tmp_path / "peaks.gz", md5=hashlib.md5(PEAKS_GZ).hexdigest())
    assert hits["/peaks.narrowPeak.gz"] == before + 1


def test_workflow_builds_a_dataset_from_urls(server, tmp_path):
    from conftest import demo_config, run_snakemake

    base, hits = server
    config = demo_config(name="from_urls", models=[], chromosomes=["chr22"], blacklist=None,
                         genome={"fasta": {"source": f"{base}/chr22.fa.gz",
                                           "sha256": hashlib.sha256(FASTA_GZ).hexdigest()}},
                         peaks=f"{base}/peaks.narrowPeak.gz",
                         windows={"length": 100, "stride": 100, "max_n_fraction": 0.5, "flank": 0},
                         split={"method": "random", "fractions": [0.6, 0.2, 0.2]})
    before = hits.get("/chr22.fa.gz", 0)
    run_snakemake(tmp_path, config)
    [downloaded] = (tmp_path / "resources/downloads").glob("*/chr22.fa.gz")
    assert downloaded.read_bytes() == FASTA_GZ
    manifest = (tmp_path / "results/from_urls/dataset/manifest.json").read_text()
    assert '"positives": 2' in manifest  # windows [100,200) and [200,300) touch the peak [100,300)
    assert json.loads(manifest)["inputs"]["fasta"]["url"] == f"{base}/chr22.fa.gz"
    assert json.loads(manifest)["inputs"]["peaks"]["url"] == f"{base}/peaks.narrowPeak.gz"
    run_snakemake(tmp_path, config)
    assert hits["/chr22.fa.gz"] == before + 1  # a rerun reuses the downloaded file


def test_urls_that_share_a_file_name_never_share_a_local_file(server, tmp_path):
    """/a/chr9.fa.gz and /b/chr9.fa.gz, built one after the other and back: each dataset
    is built from its own genome, and its manifest names its URL."""
    import numpy as np

    import tfbinding
    from conftest import demo_config, run_snakemake

    base, _ = server
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("chr9\t1000\t1300\n")

    def config(name):
        return demo_config(name=name, models=[], chromosomes=["chr9"], blacklist=None,
                           genome={"fasta": f"{base}/{name}/chr9.fa.gz"}, peaks=str(peaks),
                           windows={"length": 100, "stride": 100, "flank": 0},
                           split={"method": "random", "fractions": [0.6, 0.2, 0.2]})

    base_channel = {"a": 0, "b": 1}  # genome A is all A, genome B all C
    for name in ("a", "b", "a"):
        run_snakemake(tmp_path, config(name))
        data = tfbinding.load_dataset(tmp_path / "results" / name / "dataset")
        X = data.train["X"]
        assert X[:, :, base_channel[name]].all(), f"dataset {name} was not built from genome {name}"
        fasta = data.manifest["inputs"]["fasta"]
        assert fasta["url"] == f"{base}/{name}/chr9.fa.gz"
        assert fasta["sha256"] == hashlib.sha256(GENOME_A if name == "a" else GENOME_B).hexdigest()
        assert np.array_equal(np.unique(data.train["y"]), [0.0, 1.0])
    downloads = sorted((tmp_path / "resources/downloads").glob("*/chr9.fa.gz"))
    assert sorted(path.read_bytes() for path in downloads) == sorted([GENOME_A, GENOME_B])
    assert len(list((tmp_path / "resources/genomes").glob("*/chr9.fa"))) == 2


def test_two_configs_built_at_the_same_time_each_use_their_own_genome(server, tmp_path):
    """Two builds running at once in one folder (``--nolock``: Snakemake locks a folder per
    run), their URLs sharing a file name: neither reads the other's download or genome."""
    import subprocess
    import sys

    import yaml

    import tfbinding
    from conftest import REPO, demo_config

    base, _ = server
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("chr9\t1000\t1300\n")
    runs = {}
    for name in ("a", "b"):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml.safe_dump(demo_config(
            name=name, models=[], chromosomes=["chr9"], blacklist=None,
            genome={"fasta": f"{base}/{name}/chr9.fa.gz"}, peaks=str(peaks),
            windows={"length": 100, "stride": 100, "flank": 0},
            split={"method": "random", "fractions": [0.6, 0.2, 0.2]})))
        runs[name] = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
             str(tmp_path), "--configfile", str(config), "--cores", "1", "--nolock", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, run in runs.items():
        output = run.communicate()[0]
        assert run.returncode == 0, f"build {name} failed:\n{output}"
    for name, channel in (("a", 0), ("b", 1)):  # genome A is all A, genome B all C
        data = tfbinding.load_dataset(tmp_path / "results" / name / "dataset")
        assert data.train["X"][:, :, channel].all(), f"dataset {name} was not built from genome {name}"
        assert data.manifest["inputs"]["fasta"]["url"] == f"{base}/{name}/chr9.fa.gz"


def _requests_for(path):
    return [headers for asked, headers in _Handler.requests if asked == path]


def test_a_dropped_download_is_resumed_by_the_next_run_with_a_range_request(server, tmp_path, caplog):
    base, _ = server
    url, dest = f"{base}/big/resume?{tmp_path.name}", tmp_path / "big.bin"
    with pytest.raises(InputError, match=r"after 1 attempts .*1250000 bytes received are kept"):
        download(url, dest, retries=1)
    assert not dest.exists() and part_path(dest).read_bytes() == BIG[:CUT]
    caplog.set_level("INFO", logger="tfbinding.io.download")
    download(url, dest, sha256=hashlib.sha256(BIG).hexdigest(), retries=1)  # the rerun
    first, rerun = _requests_for(f"/big/resume?{tmp_path.name}")
    assert "Range" not in first
    assert rerun["Range"] == f"bytes={CUT}-" and rerun["If-Range"] == '"big-v1"'
    assert dest.read_bytes() == BIG
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.bin"]  # no part left
    assert f"resuming {url} at byte {CUT} of {len(BIG)}" in caplog.text


def test_retries_within_one_run_resume_too(server, tmp_path):
    base, _ = server
    dest = tmp_path / "big.bin"
    download(f"{base}/big/resume?{tmp_path.name}", dest, md5=hashlib.md5(BIG).hexdigest(), retries=2,
             backoff=0)
    assert [headers.get("Range") for headers in _requests_for(f"/big/resume?{tmp_path.name}")] == [
        None, f"bytes={CUT}-"]
    assert dest.read_bytes() == BIG


@pytest.mark.parametrize("how", ["ignore", "overlap", "wrong"])
def test_a_server_that_ignores_or_misanswers_the_range_still_gives_the_right_file(server, tmp_path, caplog, how):
    """'ignore': 200 with the whole file, which replaces the part; 'overlap': 206 from before
    the part's end (RFC 9110 allows it), the overlap is dropped; 'wrong': 206 from after it,
    a new request for the whole file."""
    base, _ = server
    url, dest = f"{base}/big/{how}?{tmp_path.name}", tmp_path / "big.bin"
    with pytest.raises(InputError):
        download(url, dest, retries=1)
    caplog.set_level("INFO", logger="tfbinding.io.download")
    download(url, dest, sha256=hashlib.sha256(BIG).hexdigest(), retries=1)
    assert dest.read_bytes() == BIG
    asked = _requests_for(f"/big/{how}?{tmp_path.name}")
    assert asked[1]["Range"] == f"bytes={CUT}-"
    if how == "wrong":
        assert len(asked) == 3 and "Range" not in asked[2]
    if how != "overlap":
        assert "starting again from 0" in caplog.text


def test_large_downloads_log_their_progress(server, tmp_path, caplog):
    base, _ = server
    caplog.set_level("INFO", logger="tfbinding.io.download")
    download(f"{base}/big/resume?{tmp_path.name}", tmp_path / "big.bin", retries=2, backoff=0,
             progress_min_bytes=1 << 20)
    lines = [r.getMessage() for r in caplog.records if "%)" in r.getMessage()]
    # at most one line per 5% (here: per 1-MB read), over the two connections
    assert len(lines) >= 3 and all(re.fullmatch(r"resume: [0-9.]+ MB of 3\.0 MB \([0-9]+%\), [0-9.,]+ MB/s", line)
                                   for line in lines), lines
    percents = [int(re.search(r"\(([0-9]+)%\)", line).group(1)) for line in lines]
    assert percents == sorted(set(percents)) and percents[-1] == 100
    caplog.clear()
    download(f"{base}/chr22.fa.gz", tmp_path / "small.fa.gz")  # below 8 MB: no progress lines
    assert not [r for r in caplog.records if "%)" in r.getMessage()]
