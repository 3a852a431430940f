"""File checksums (sha256, md5), computed in one streaming pass."""
from __future__ import annotations

import hashlib
import os

_BLOCK = 8 << 20


def file_digests(path: str | os.PathLike, algorithms: tuple[str, ...] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file's bytes for each of ``algorithms``, read once in blocks."""
    digests = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            for digest in digests.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return file_digests(path)["sha256"]
