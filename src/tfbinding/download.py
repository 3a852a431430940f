"""Fetch reference files (FASTA, peaks, blacklists) over HTTP(S)/FTP: through a temporary
file and an atomic rename, with retries and a checksum check; never twice."""
from __future__ import annotations

import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from .atomic import atomic_path
from .checksums import file_digests
from .errors import InputError

log = logging.getLogger(__name__)

URL_SCHEMES = ("http://", "https://", "ftp://")
_BLOCK = 1 << 20


def is_url(source: str) -> bool:
    """Whether a config value names a URL rather than a local path."""
    return source.startswith(URL_SCHEMES)


class _Truncated(OSError):
    """The server closed the connection before the announced length."""


def check_checksums(path: Path, source: str, sha256: str | None, md5: str | None) -> None:
    """Fail if ``path`` does not have the expected sha256/md5 (either may be None)."""
    if not (sha256 or md5):
        return
    actual = file_digests(path, ("sha256", "md5"))
    for name, expected in (("sha256", sha256), ("md5", md5)):
        if expected and actual[name] != expected.lower():
            raise InputError(f"{source}: {name} is {actual[name]}, but the config expects {expected}. "
                             "The file is corrupt or another version; check the checksum or the URL")


def _fetch_once(url: str, tmp: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
        announced = response.headers.get("Content-Length")
        received = 0
        while True:
            try:
                block = response.read(_BLOCK)
            except http.client.IncompleteRead as err:
                raise _Truncated(f"connection closed after {received + len(err.partial)} bytes") from None
            if not block:
                break
            out.write(block)
            received += len(block)
        if announced is not None and received != int(announced):
            raise _Truncated(f"received {received} of {announced} bytes")


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, md5: str | None = None,
             retries: int = 3, timeout: float = 60.0, backoff: float = 1.0,
             config_key: str = "the input") -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` is already there (and matches the checksums).

    Parameters
    ----------
    retries : attempts for network failures (dropped connections, timeouts, HTTP 5xx);
        HTTP 4xx and checksum mismatches fail at once.
    backoff : seconds before the second attempt, doubling after each.
    config_key : the config key that named the URL, for the error message.
    """
    dest = Path(dest)
    if dest.exists():
        check_checksums(dest, str(dest), sha256, md5)
        log.info("%s is already here; not downloading %s again", dest, url)
        return dest
    advice = (f"Without internet access, fetch {url} on another machine and set {config_key} "
              "in the config to the local file's path")
    failure = ""
    for attempt in range(1, retries + 1):
        try:
            with atomic_path(dest) as tmp:
                _fetch_once(url, tmp, timeout)
                check_checksums(tmp, url, sha256, md5)
            log.info("downloaded %s to %s", url, dest)
            return dest
        except urllib.error.HTTPError as err:
            if 400 <= err.code < 500:
                raise InputError(f"{url}: HTTP {err.code} {err.reason}. Check the URL. {advice}") from None
            failure = f"HTTP {err.code} {err.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            failure = str(getattr(err, "reason", err))
        log.warning("attempt %d of %d to download %s failed: %s", attempt, retries, url, failure)
        if attempt < retries:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise InputError(f"could not download {url} after {retries} attempts (last: {failure}). {advice}")
