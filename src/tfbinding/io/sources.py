"""Where a configured input comes from: a local path or a URL, and the key that names it.

A config input (``genome.fasta``, ``peaks``, ``blacklist``, a signal's ``bigwig``) is a path,
a URL, or ``{"source": ..., "sha256": ..., "md5": ...}``. A URL is downloaded to
``<downloads folder>/<source_key>/<file name>`` (the ``download`` step, :mod:`tfbinding.io.download`).
"""
from __future__ import annotations

import hashlib
import os
import urllib.parse
from typing import Any, Mapping

URL_SCHEMES = ("http://", "https://", "ftp://")


def is_url(source: str) -> bool:
    """Whether a config value names a URL rather than a local path."""
    return source.startswith(URL_SCHEMES)


def source_spec(value: str | Mapping[str, Any]) -> dict[str, Any]:
    """A config input as ``{"source": path-or-URL, "sha256": ..., "md5": ...}``."""
    return {"source": value} if isinstance(value, str) else dict(value)


def source_key(spec: Mapping[str, Any]) -> str:
    """A short hash that names where an input comes from.

    Its URL (with the checksums the config expects) or its absolute path. Two configs whose
    URLs share a file name (hg19's and hg38's chr22.fa.gz) thus never share a downloaded or
    prepared file.
    """
    if is_url(spec["source"]):
        identity = "\n".join([spec["source"], spec.get("sha256", "").lower(), spec.get("md5", "").lower()])
    else:
        identity = os.path.abspath(spec["source"])
    return hashlib.sha1(identity.encode()).hexdigest()[:10]


def download_path(folder: str, spec: Mapping[str, Any]) -> str:
    """Where a URL's file is downloaded to: ``<folder>/<source_key>/<file name>``."""
    name = os.path.basename(urllib.parse.urlparse(spec["source"]).path) or "download"
    return f"{folder}/{source_key(spec)}/{name}"
