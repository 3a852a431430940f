"""Stream ``.npy`` files: write the header, then the data in chunks; find a file's data."""
from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np


def write_npy_header(handle: BinaryIO, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Write a version-1.0 ``.npy`` header for a C-ordered array; the data follows."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(handle, header)


def npy_data_offset(path: str | os.PathLike) -> tuple[int, tuple[int, ...]]:
    """Byte offset of the data in a ``.npy`` file, and the array's shape."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, _ = read_header(handle)
        return handle.tell(), tuple(shape)
