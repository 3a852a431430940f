"""Export a built dataset as DeepChem ``DiskDataset`` folders, one per split, without
importing DeepChem (it pulls in RDKit, SciPy's stack and more at import time).

The on-disk format is DeepChem's own, as ``deepchem/data/datasets.py`` (DeepChem 2.8.0)
writes it in ``DiskDataset.create_dataset``:

* ``shard-<i>-X.npy``, ``shard-<i>-y.npy``, ``shard-<i>-w.npy``, ``shard-<i>-ids.npy``:
  each shard's arrays, plain ``np.save`` files (``write_data_to_disk``);
* ``metadata.csv.gzip``: a gzip'd CSV with one row per shard and the columns ``ids, X, y,
  w, ids_shape, X_shape, y_shape, w_shape`` (``_construct_metadata``): the shard file names,
  then each array's shape as a Python tuple (``"(4096, 101, 4)"``, read back with
  ``ast.literal_eval``);
* ``tasks.json``: the JSON list of task names; ``[0]`` for a one-column ``y``, as
  ``create_dataset`` names the tasks when none are given (``_save_metadata``).

``dc.data.DiskDataset(folder)`` then loads a folder as it loads one that DeepChem wrote.
The arrays keep our dtypes: ``X`` uint8 one-hot (n, L + 2·flank, 4), ``y`` and ``w``
float32 (n, T), ``ids`` unicode ``chrom:start-end``.

Signal channels and tasks
-------------------------
A dataset with signal channels (``S.npy``) is exported with them as extra channels of
``X``, as our signal models read them (:func:`tfbinding.models.inference.with_signals`):
``X`` is then float32 (n, L + 2·flank, 4 + S), channels A, C, G, T and then the signals
in the manifest's order (``manifest["signals"]["channels"]``; their transforms are the
dataset's). The export's summary lists the channels (``channels``). A multi-task
dataset's ``tasks.json`` holds its task names (``["JUND", "CTCF"]``); a single-task one
keeps DeepChem's default ``[0]``.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
from pathlib import Path

import numpy as np

from tfbinding.atomic import atomic_path
from tfbinding.data.loader import load_dataset
from tfbinding.errors import located
from tfbinding.layout import ARRAYS, SIGNALS, SPLITS
from tfbinding.models.inference import with_signals

log = logging.getLogger(__name__)

#: DeepChem's metadata columns, in ``DiskDataset._construct_metadata``'s order
METADATA_COLUMNS = ("ids", "X", "y", "w", "ids_shape", "X_shape", "y_shape", "w_shape")
METADATA = "metadata.csv.gzip"
TASKS = "tasks.json"
#: default shard size: about this many bytes of one shard's arrays
SHARD_BYTES = 64 << 20


def default_shard_size(arrays: dict[str, np.ndarray], shard_bytes: int = SHARD_BYTES) -> int:
    """Rows per shard so that one shard's X, y, w and ids take about ``shard_bytes``."""
    row_bytes = sum(array[:1].nbytes for array in arrays.values()) or 1
    return max(1, shard_bytes // row_bytes)


def write_disk_dataset(arrays: dict[str, np.ndarray], out: str | os.PathLike,
                       shard_size: int | None = None, tasks: list | None = None) -> dict:
    """Write ``X``, ``y``, ``w`` and ``ids`` as one DeepChem ``DiskDataset`` folder.

    Parameters
    ----------
    arrays : dict of array
        ``X``, ``y``, ``w`` and ``ids``, one row per example (memory maps are read a
        shard at a time), and optionally ``S``: signal channels, written as channels
        ``4:`` of a float32 ``X``.
    out : path
        The folder, written atomically (a half-written folder never has the final name).
    shard_size : int or None
        Rows per shard; default :func:`default_shard_size`.
    tasks : list or None
        Task names; default ``[0]``, ``[0, 1, ...]`` for a ``y`` with several columns
        (DeepChem's own default).

    Returns
    -------
    dict
        ``rows``, ``shards`` and ``tasks`` written.
    """
    rows = len(arrays["ids"])
    for key in ARRAYS:
        if len(arrays[key]) != rows:
            raise located(out, None, f"{key} has {len(arrays[key])} rows but ids has {rows}",
                          "The dataset is inconsistent; build it again")
    if shard_size is None:
        shard_size = default_shard_size(arrays)
    if shard_size < 1:
        raise located(out, None, f"shard size {shard_size}: need at least 1 row per shard")
    if tasks is None:
        y = arrays["y"]
        tasks = [0] if y.ndim < 2 else list(range(y.shape[1]))
    # an empty split still gets one (empty) shard, so that its shapes are recorded
    bounds = [(first, min(first + shard_size, rows)) for first in range(0, rows, shard_size)] or [(0, 0)]
    metadata = []
    with atomic_path(out) as tmp:
        tmp.mkdir()
        for shard, (first, last) in enumerate(bounds):
            names, shapes = {}, {}
            for key in ARRAYS:
                block = np.ascontiguousarray(arrays[key][first:last])
                if key == "X" and arrays.get(SIGNALS) is not None:
                    block = with_signals(block, arrays[SIGNALS][first:last])
                names[key] = f"shard-{shard}-{key}.npy"
                shapes[key] = str(tuple(block.shape))  # what pandas writes for a tuple
                np.save(tmp / names[key], block, allow_pickle=False)
            metadata.append([names[key] for key in ("ids", "X", "y", "w")]
                            + [shapes[key] for key in ("ids", "X", "y", "w")])
        (tmp / TASKS).write_text(json.dumps(tasks))
        _write_metadata(tmp / METADATA, metadata)
    return {"rows": rows, "shards": len(bounds), "tasks": tasks}


def _write_metadata(path: Path, rows: list[list[str]]) -> None:
    """The CSV that ``pandas.DataFrame.to_csv(index=False, compression="gzip")`` writes."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(METADATA_COLUMNS)
    writer.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(text.getvalue().encode())


def _signal_names(data) -> list[str]:
    """The signal channels' names, in ``S``'s order (``signal<i>`` where unnamed)."""
    count = data.channels - 4
    listed = (data.manifest.get("signals") or {}).get("channels") or []
    names = [entry.get("name") if isinstance(entry, dict) else None for entry in listed]
    return [str(names[i]) if i < len(names) and names[i] else f"signal{i}" for i in range(count)]


def export_deepchem(dataset: str | os.PathLike, out_dir: str | os.PathLike,
                    shard_size: int | None = None) -> dict[str, dict]:
    """Write each split of a built dataset as a DeepChem ``DiskDataset`` folder.

    Parameters
    ----------
    dataset : path
        ``results/<name>/dataset`` (with its ``manifest.json``).
    out_dir : path
        Receives ``train/``, ``valid/`` and ``test/``; each loads with
        ``deepchem.data.DiskDataset(folder)``.
    shard_size : int or None
        Rows per shard; default about 64 MB per shard. Memory use is one shard.

    Returns
    -------
    dict
        Per split: ``rows``, ``shards``, ``tasks`` and ``channels`` (``A, C, G, T`` and
        the signal channels' names, in ``X``'s order).
    """
    data = load_dataset(dataset)
    tasks = data.tasks
    names = None if tasks == [""] else list(tasks)
    channels = ["A", "C", "G", "T"] + _signal_names(data)
    summary = {}
    for split in SPLITS:
        summary[split] = write_disk_dataset(getattr(data, split), Path(out_dir) / split, shard_size,
                                            tasks=names)
        summary[split]["channels"] = channels
        log.info("%s: %d windows in %d shards -> %s", split, summary[split]["rows"],
                 summary[split]["shards"], Path(out_dir) / split)
    return summary
