"""A UCSC track hub for the genome-wide prediction tracks: ``hub.txt``, ``genomes.txt`` and
``<genome>/trackDb.txt`` (the hub specification's three files), whose tracks point at the
merged ``genome[.<task>].bw`` files by relative URL. Copy the ``predictions`` folder to any
web server and paste the URL of ``hub/hub.txt`` into the browser's *Track Hubs* page.

Only bigWig tracks: a hub shows intervals only as bigBed, which needs UCSC's
``bedToBigBed``; the called sites stay ``.narrowPeak`` (IGV, or a UCSC custom track).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from tfbinding.atomic import atomic_path
from tfbinding.config import task_names
from tfbinding.errors import InputError
from tfbinding.text import check_email, check_identifier, check_line_value


def track_db(tracks: Mapping[str, str], model: str, name: str) -> str:
    """``trackDb.txt``: one bigWig track per task (``{label: relative bigDataUrl}``),
    probabilities shown on a fixed 0–1 scale.
    """
    stanzas = []
    for label, url in tracks.items():
        task = f" {label}" if label else ""
        stanzas.append("\n".join([
            f"track {name}{'_' + label if label else ''}",
            f"bigDataUrl {url}",
            f"shortLabel {name}{task}"[:17],
            f"longLabel tfbinding {model}:{task} predicted binding probability",
            "type bigWig 0 1",
            "visibility full",
            "autoScale off",
            "viewLimits 0:1",
            "maxHeightPixels 100:50:8",
        ]))
    return "\n\n".join(stanzas) + "\n"


def write_track_hub(out_dir: str | os.PathLike, genome: str, bigwigs: Mapping[str, str | os.PathLike], *,
                    name: str, email: str, model: str) -> Path:
    """Write a track hub for ``bigwigs`` into ``out_dir`` (swapped in whole).

    Parameters
    ----------
    out_dir : path
        The hub folder (``predictions/hub``): ``hub.txt``, ``genomes.txt``,
        ``<genome>/trackDb.txt``.
    genome : str
        The UCSC assembly the chromosome names belong to (``hg19``, ``hg38``, ``mm10``, …).
    bigwigs : mapping
        Track label (the task; ``""`` for a single-task model) to its genome-wide bigWig;
        each is linked by its path relative to ``<genome>/trackDb.txt``.
    name, email, model : str
        The hub's name (the dataset's), the contact the hub specification requires, and
        the model that predicted (in the long labels).

    Raises
    ------
    InputError
        For a genome, hub or task name other than letters, digits, ``_``, ``.``, ``-``;
        a model name or bigWig path with a newline or other control character; an email
        that is not one plain address; or no track.
    """
    # every value written into a hub file is one field of one line (tfbinding.text)
    check_identifier(genome, "predict.hub.genome")
    check_identifier(name, "hub name")
    check_line_value(model, "model")
    for label in bigwigs:
        if label:
            check_identifier(label, "task")
    check_email(email, "predict.hub.email")
    if not bigwigs:
        raise InputError("a track hub needs at least one bigWig")
    out_dir = Path(out_dir)
    track_folder = out_dir / genome
    urls = {label: Path(os.path.relpath(Path(path).absolute(), track_folder.absolute())).as_posix()
            for label, path in bigwigs.items()}
    for label, url in urls.items():
        check_line_value(url, f"bigWig path {bigwigs[label]!r} (relative to the hub)", forbid=" ")
    with atomic_path(out_dir) as tmp:
        (tmp / genome).mkdir(parents=True)
        (tmp / "hub.txt").write_text(
            f"hub {name}\nshortLabel tfbinding {name}\n"
            f"longLabel tfbinding {name}: binding predicted by {model}\n"
            f"genomesFile genomes.txt\nemail {email}\n")
        (tmp / "genomes.txt").write_text(f"genome {genome}\ntrackDb {genome}/trackDb.txt\n")
        (tmp / genome / "trackDb.txt").write_text(track_db(urls, model, name))
    return out_dir


def track_hub_step(out_dir: str | os.PathLike, genome: str, bigwigs: Sequence[str | os.PathLike],
                   tasks: Sequence[str] | None = None, **options) -> Path:
    """The track-hub step: one track per bigWig, named by ``tasks`` (none for one task).

    ``options`` are :func:`write_track_hub`'s keyword arguments.

    Raises
    ------
    InputError
        Not one task name per bigWig of a multi-task model.
    """
    names = task_names(tasks)
    if len(names) != len(bigwigs):
        raise InputError(f"{len(bigwigs)} bigWig files but {len(names)} task names: give one "
                         "name per bigWig of a multi-task model (none for a single-task one)")
    return write_track_hub(out_dir, genome, dict(zip(names, bigwigs)), **options)
