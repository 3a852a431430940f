"""Fetch reference files (FASTA, peaks, blacklists) over HTTP(S)/FTP: resumable, with
progress in the log, retries and a checksum check; never twice.

The bytes go to ``.<name>.part`` beside the destination (a name no step takes for a
complete file). An interrupted download (a dropped connection, a killed job) keeps it, and
the next attempt, or the next run, asks an HTTP(S) server for the rest only
(``Range: bytes=<size>-``, with ``If-Range`` naming the version the part came from where
the server named one: a strong ETag or a Last-Modified date). The
rest is appended only when the server answers ``206 Partial Content`` with a
``Content-Range`` that starts at or before the part's end; any other answer (``200``: the
server ignores ranges, or the file changed) starts again from byte 0. The checksums are
then verified on the whole file, and only then is it renamed to its final name.

Why not ``pooch`` (or Snakemake's HTTP storage plugin): pooch's downloaders fetch with a
plain ``requests.get`` into a temporary file that a failure discards, so a dropped
connection 800 MB into hg19.fa.gz starts again from byte 0 (no ``Range`` resume); its
progress is a tqdm bar on a terminal, not lines in a rule's log; and it would add
``requests`` and ``pooch`` as dependencies for what the standard library does here. The
storage plugin has no resume either, and would take the checksums and their messages out
of this package.
"""
from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Iterator

from tfbinding.atomic import remove_stale_partials, save_json
from tfbinding.checksums import file_digests
from tfbinding.errors import InputError
from tfbinding.io.sources import URL_SCHEMES, is_url  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

_BLOCK = 1 << 20
#: files at least this large log their progress
PROGRESS_MIN_BYTES = 8 << 20
#: log a progress line each time this fraction more of the file has arrived
PROGRESS_STEP = 0.05
#: without a known length, log a progress line every this many bytes
PROGRESS_EVERY_BYTES = 64 << 20
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def part_path(dest: str | os.PathLike) -> Path:
    """Where the bytes of ``dest`` collect until the download is complete and checked."""
    dest = Path(dest)
    return dest.with_name(f".{dest.name}.part")


def _part_info_path(part: Path) -> Path:
    """The URL and version (ETag/Last-Modified) that a ``.part`` file's bytes came from."""
    return part.with_name(part.name + ".json")


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


def _megabytes(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


class _Progress:
    """Progress lines in the log: every :data:`PROGRESS_STEP` of a file of at least
    ``min_bytes`` (every :data:`PROGRESS_EVERY_BYTES` when the length is unknown), with
    the bytes so far, the share, and the rate of this connection.
    """

    def __init__(self, name: str, offset: int, total: int | None, min_bytes: int):
        self.name, self.offset, self.total = name, offset, total
        self.started = time.monotonic()
        self.enabled = total is None or total >= min_bytes
        step = total * PROGRESS_STEP if total else PROGRESS_EVERY_BYTES
        self.step = max(1.0, step)
        self.next = (offset // self.step + 1) * self.step

    def update(self, received: int) -> None:
        """Note that ``received`` bytes of the file (the part's included) are here."""
        if not self.enabled or received < self.next:
            return
        self.next = (received // self.step + 1) * self.step
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = _megabytes((received - self.offset) / seconds) + "/s"
        if self.total:
            log.info("%s: %s of %s (%d%%), %s", self.name, _megabytes(received),
                     _megabytes(self.total), int(100 * received / self.total), rate)
        else:
            log.info("%s: %s, %s", self.name, _megabytes(received), rate)


@contextlib.contextmanager
def _locked_part(part: Path, url: str) -> Iterator[BinaryIO]:
    """Open (create) the ``.part`` file for appending, locked against a second download of
    the same file; an empty one is removed when done.
    """
    handle = open(part, "a+b")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{part}: another process is downloading {url} to it now. "
                             "Wait for it to finish, then run again") from None
        yield handle
    finally:
        handle.close()
        with contextlib.suppress(OSError):
            if part.stat().st_size == 0:
                part.unlink()
                _part_info_path(part).unlink(missing_ok=True)


def _discard(part: Path, handle: BinaryIO) -> None:
    handle.seek(0)
    handle.truncate(0)
    _part_info_path(part).unlink(missing_ok=True)


def _resume_from(part: Path, handle: BinaryIO, url: str) -> tuple[int, str | None]:
    """The bytes to keep and the ``If-Range`` validator (None where the server named no
    version): (0, None) unless the part came from this URL over HTTP(S).
    """
    size = handle.seek(0, os.SEEK_END)
    if size == 0 or not url.startswith(("http://", "https://")):
        if size:
            _discard(part, handle)
        return 0, None
    try:
        info = json.loads(_part_info_path(part).read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("url") != url:
        log.info("%s: %s holds %d bytes of unknown origin; starting again from 0", url, part, size)
        _discard(part, handle)
        return 0, None
    return size, info.get("validator")


def _validator(response) -> str | None:
    """What ``If-Range`` may name: a strong ETag, else the Last-Modified date."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _fetch_once(url: str, part: Path, handle: BinaryIO, timeout: float, min_bytes: int) -> None:
    """One request: append the rest of the file to ``handle`` (or all of it)."""
    offset, validator = _resume_from(part, handle, url)
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
        if validator:  # else a changed file is caught by the checksums (where given)
            request.add_header("If-Range", validator)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if offset and err.code == 416:  # the part holds the whole file already, or more
            match = re.fullmatch(r"bytes\s+\*/(\d+)", err.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == offset:
                log.info("%s: the %d bytes of %s are the whole file", url, offset, part)
                return
            log.info("%s: HTTP 416 for bytes %d- (the file is shorter now); starting again from 0",
                     url, offset)
            _discard(part, handle)
            return _fetch_once(url, part, handle, timeout, min_bytes)
        raise
    with response:
        status = getattr(response, "status", None)
        length = response.headers.get("Content-Length")
        total = None
        if offset and status == 206:
            match = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
            if match is None or int(match.group(1)) > offset:
                log.warning("%s: the server answered the request for bytes %d- with Content-Range "
                            "%r; starting again from 0", url, offset, response.headers.get("Content-Range"))
                response.close()
                _discard(part, handle)
                return _fetch_once(url, part, handle, timeout, min_bytes)
            start = int(match.group(1))
            if start < offset:  # allowed (RFC 9110): drop what it sends again
                handle.truncate(start)
            log.info("resuming %s at byte %d of %s", url, start, match.group(3))
            offset = start
            total = int(match.group(3)) if match.group(3) != "*" else None
        else:
            if offset:
                log.info("%s: the server sent the whole file (HTTP %s) instead of bytes %d-; "
                         "starting again from 0", url, status, offset)
                _discard(part, handle)
                offset = 0
            total = int(length) if length is not None else None
            info = {"url": url, "validator": _validator(response)}
            save_json(_part_info_path(part), info)
        handle.seek(0, os.SEEK_END)
        progress = _Progress(Path(urllib.parse.urlparse(url).path).name or url, offset, total, min_bytes)
        received = offset
        while True:
            try:
                block = response.read(_BLOCK)
            except http.client.IncompleteRead as err:
                handle.write(err.partial)
                handle.flush()
                raise _Truncated(f"connection closed after {received + len(err.partial)} bytes") from None
            if not block:
                break
            handle.write(block)
            received += len(block)
            progress.update(received)
        handle.flush()
        if total is not None and received != total:
            raise _Truncated(f"received {received} of {total} bytes")


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, md5: str | None = None,
             retries: int = 3, timeout: float = 60.0, backoff: float = 1.0,
             config_key: str = "the input", progress_min_bytes: int = PROGRESS_MIN_BYTES) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` is already there (and matches the checksums).

    Parameters
    ----------
    url : str
        An HTTP(S) or FTP URL; HTTP(S) downloads resume (see the module's notes).
    dest : path
        The final file; its bytes collect in ``.<name>.part`` beside it.
    sha256, md5 : str or None
        Expected checksums of the whole file.
    retries : int, default 3
        Attempts for network failures (dropped connections, timeouts, HTTP 5xx); each
        resumes where the last stopped. HTTP 4xx and checksum mismatches fail at once.
    timeout : float, default 60
        Seconds without data before a connection counts as failed.
    backoff : float, default 1
        Seconds before the second attempt, doubling after each.
    config_key : str
        The config key that named the URL, for the error message.
    progress_min_bytes : int
        Files at least this large log their progress every 5%.

    Returns
    -------
    Path
        ``dest``.
    """
    dest = Path(dest)
    if dest.exists():
        check_checksums(dest, str(dest), sha256, md5)
        log.info("%s is already here; not downloading %s again", dest, url)
        return dest
    advice = (f"Without internet access, fetch {url} on another machine and set {config_key} "
              "in the config to the local file's path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dest)
    part = part_path(dest)
    failure = ""
    with _locked_part(part, url) as handle:
        for attempt in range(1, retries + 1):
            try:
                _fetch_once(url, part, handle, timeout, progress_min_bytes)
                try:
                    check_checksums(part, url, sha256, md5)
                except InputError:
                    _discard(part, handle)  # complete but wrong: never resume from it
                    raise
                os.replace(part, dest)
                _part_info_path(part).unlink(missing_ok=True)
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
    kept = (f"; the {part.stat().st_size} bytes received are kept in {part} and the next run "
            "resumes from them") if part.exists() else ""
    raise InputError(f"could not download {url} after {retries} attempts (last: {failure}){kept}. {advice}")
