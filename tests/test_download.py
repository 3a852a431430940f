"""Downloads against a real HTTP server on 127.0.0.1 serving fixture files."""
from __future__ import annotations

import gzip
import hashlib
import json
import http.server
import threading

import pytest

from tfbinding.download import download
from tfbinding.errors import InputError

FASTA_GZ = gzip.compress(b">chr22\n" + b"ACGTN" * 2000 + b"\n", mtime=0)
PEAKS_GZ = gzip.compress(b"chr22\t100\t300\tp1\t0\t.\t5\t-1\t-1\t100\n", mtime=0)
# two genomes whose URLs share a file name (as UCSC's hg19 and hg38 chr22.fa.gz do)
GENOME_A = gzip.compress(b">chr9\n" + b"A" * 10_000 + b"\n", mtime=0)
GENOME_B = gzip.compress(b">chr9\n" + b"C" * 10_000 + b"\n", mtime=0)


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {"/chr22.fa.gz": FASTA_GZ, "/peaks.narrowPeak.gz": PEAKS_GZ,
             "/a/chr9.fa.gz": GENOME_A, "/b/chr9.fa.gz": GENOME_B}
    hits: dict[str, int] = {}

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
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
    assert list(tmp_path.iterdir()) == []


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
