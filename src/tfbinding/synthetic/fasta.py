"""The synthetic genomes' one FASTA and gzip writer.

The demo (:mod:`tfbinding.synthetic.demo`) and the simulator
(:mod:`tfbinding.synthetic.simulate`) both build their files in memory as
``{file name: uncompressed bytes}`` and write them here: FASTA records in 60-column
lines, ``.gz`` files as plain gzip with mtime 0 and no file name, so that the same
genome always gives the same bytes.
"""
from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np

from tfbinding.atomic import atomic_path

#: bases per FASTA line
LINE = 60


def gzip_bytes(payload: bytes) -> bytes:
    """Gzip ``payload`` deterministically (mtime 0, no file name).

    Parameters
    ----------
    payload : bytes
        Uncompressed content.

    Returns
    -------
    bytes
        A plain (not block-) gzip stream.
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        handle.write(payload)
    return buffer.getvalue()


def fasta_lines(seq: np.ndarray, line: int = LINE) -> bytes:
    """``seq`` cut into ``line``-column newline-terminated lines, in one reshape.

    Parameters
    ----------
    seq : numpy.ndarray
        ASCII bytes of one sequence as ``uint8``.
    line : int, default 60
        Bases per line.

    Returns
    -------
    bytes
        The lines; every one, the last included, ends with a newline.
    """
    seq = np.asarray(seq, np.uint8)
    full = len(seq) // line * line
    body = np.empty((full // line, line + 1), np.uint8)
    body[:, :line] = seq[:full].reshape(-1, line)
    body[:, line] = ord("\n")
    tail = seq[full:].tobytes() + b"\n" if full < len(seq) else b""
    return body.tobytes() + tail


def fasta_bytes(sequences: dict[str, np.ndarray], description: str) -> bytes:
    """A multi-record FASTA: ``>name description`` then :func:`fasta_lines` per sequence.

    Parameters
    ----------
    sequences : dict of str to numpy.ndarray
        Sequence name to its ASCII bytes as ``uint8``, in file order.
    description : str
        Text after the name on every header line.

    Returns
    -------
    bytes
        The uncompressed FASTA.
    """
    fasta = io.BytesIO()
    for name, seq in sequences.items():
        fasta.write(f">{name} {description}\n".encode())
        fasta.write(fasta_lines(seq))
    return fasta.getvalue()


def text_lines(lines: list[str]) -> bytes:
    """``lines`` joined, each newline-terminated, as UTF-8; empty bytes for no lines.

    Parameters
    ----------
    lines : list of str
        Lines without their newline.

    Returns
    -------
    bytes
        The encoded text.
    """
    return ("\n".join(lines) + "\n").encode() if lines else b""


def write_files(files: dict[str, bytes], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``{file name: uncompressed content}`` into ``out_dir``, atomically.

    Names ending in ``.gz`` are written through :func:`gzip_bytes`; the others as they are.

    Parameters
    ----------
    files : dict of str to bytes
        File name to uncompressed content.
    out_dir : str or os.PathLike
        Target folder.

    Returns
    -------
    dict of str to pathlib.Path
        File name to the path written, in the order of ``files``.
    """
    written = {}
    for name, content in files.items():
        path = Path(out_dir) / name
        with atomic_path(path) as tmp:
            tmp.write_bytes(gzip_bytes(content) if name.endswith(".gz") else content)
        written[name] = path
    return written
