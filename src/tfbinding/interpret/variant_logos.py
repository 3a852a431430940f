"""Contribution logos of the top variants: REF above ALT, the changed bases marked.

For each of the ``top`` variants (smallest p-value, then largest |log2 odds ratio|; by
that alone without a null), the REF and ALT windows at shift 0 (:mod:`tfbinding.interpret.variant_windows`)
are explained with the package's attribution engine
(:func:`tfbinding.interpret.attribution.hypothetical_contributions`: integrated gradients
of the logit, strand-averaged when the scores are, averaged over the models), and the
actual contributions (hypothetical × one-hot) of ``flank`` bases either side of the allele
drawn with logomaker, REF on top and ALT below, on the same y scale, each allele's bases
shaded. One PNG per variant, ``<rank>_<chrom>_<pos>.png``, in ``out_dir``, plus
``logos.tsv`` listing rank, variant and file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from tfbinding.atomic import atomic_path
from tfbinding.interpret.variant_windows import allele_span, allele_windows
from tfbinding.io.vcf import VariantTable
from tfbinding.text import check_line_value

LOGO_COLUMNS = ("rank", "chrom", "pos", "id", "ref", "alt", "png")


def top_rows(delta: np.ndarray, pvalue: np.ndarray, top: int) -> np.ndarray:
    """The ``top`` rows by smallest p-value then largest |delta| (any effect size: the
    step gives the log2 odds ratio; first task).
    """
    delta = np.asarray(delta, np.float64).reshape(len(delta), -1)[:, 0]
    pvalue = np.asarray(pvalue, np.float64).reshape(len(pvalue), -1)[:, 0]
    p = np.where(np.isnan(pvalue), 2.0, pvalue)
    order = np.lexsort((-np.abs(np.nan_to_num(delta)), p))
    return order[:max(0, int(top))]


def contributions(models: Sequence, X: np.ndarray, rc_average: bool, task: int = 0,
                  steps: int = 32) -> np.ndarray:
    """Actual contributions ``(n, L, 4)`` averaged over ``models``."""
    from tfbinding.interpret.attribution import hypothetical_contributions

    hyp = np.mean([hypothetical_contributions(model, X, rc_average, steps=steps, task=task)
                   for model in models], axis=0)
    return hyp * X


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _draw(path: Path, ref: np.ndarray, alt: np.ndarray, ref_span: tuple[int, int],
          alt_span: tuple[int, int], title: str) -> None:
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    figure, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.18 * max(len(ref), len(alt))), 4.2), sharey=True)
    for axis, values, span, label in ((axes[0], ref, ref_span, "REF"), (axes[1], alt, alt_span, "ALT")):
        logomaker.Logo(pd.DataFrame(values, columns=list("ACGT")), ax=axis)
        axis.axvspan(span[0] - 0.5, span[1] - 0.5, color="gold", alpha=0.35, lw=0)
        axis.axhline(0, color="grey", lw=0.5)
        axis.set_ylabel(f"{label}\ncontribution")
        axis.set_xticks([])
    low = min(ref.min(), alt.min(), 0) * 1.1
    high = max(ref.max(), alt.max(), 0) * 1.1
    if high > low:
        axes[0].set_ylim(low, high)
    axes[0].set_title(title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)


def plot_variant_logos(models: Sequence, genome, table: VariantTable, rows: np.ndarray,
                       out_dir: str | os.PathLike, rc_average: bool, flank: int = 25,
                       task: int = 0, labels: Sequence[str] | None = None) -> list[dict]:
    """Draw the logos of ``rows`` of ``table`` (ranked in that order) into ``out_dir``.

    Parameters
    ----------
    models : sequence of keras.Model
    genome : tfbinding.io.fasta.Genome
    table : VariantTable
    rows : array of int
        Rows of ``table``, best first.
    out_dir : path
        Created; earlier ``*.png`` and ``logos.tsv`` in it are removed.
    rc_average : bool
    flank : int, default 25
        Bases drawn either side of the allele.
    task : int, default 0
    labels : sequence of str or None
        A title line per row (e.g. delta and q-value).

    Returns
    -------
    list of dict
        One per logo: :data:`LOGO_COLUMNS`; also written to ``out_dir/logos.tsv``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in list(out_dir.glob("*.png")):
        old.unlink()
    length = int(models[0].input_shape[1])
    listed = []
    for rank, row in enumerate(np.asarray(rows, np.int64), 1):
        sequence = genome.sequence(table.fasta_chrom[row])
        pos0 = np.array([table.pos[row] - 1])
        r = np.array([len(table.ref[row])])
        X = np.concatenate([allele_windows(sequence, pos0, r, [allele], length)
                            for allele in (table.ref[row], table.alt[row])])
        values = contributions(models, X, rc_average, task)
        spans = [allele_span(np.array([len(allele)]), length) for allele in (table.ref[row], table.alt[row])]
        crops = []
        for k, (start, end) in enumerate(spans):
            low, high = max(0, int(start[0]) - flank), min(length, int(end[0]) + flank)
            crops.append((values[k, low:high], (int(start[0]) - low, int(end[0]) - low)))
        name = f"{rank}_{_safe(table.chrom[row])}_{table.pos[row]}.png"
        variant = f"{table.chrom[row]}:{table.pos[row]} {table.ref[row][:20]}>{table.alt[row][:20]}"
        title = variant + (f" ({table.id[row]})" if table.id[row] != "." else "")
        if labels is not None:
            title += f"\n{labels[rank - 1]}"
        _draw(out_dir / name, crops[0][0], crops[1][0], crops[0][1], crops[1][1], title)
        listed.append({"rank": rank, "chrom": table.chrom[row], "pos": int(table.pos[row]),
                       "id": table.id[row], "ref": table.ref[row], "alt": table.alt[row], "png": name})
    lines = ["\t".join(LOGO_COLUMNS)] + ["\t".join(check_line_value(item[c], f"logos.tsv {c}")
                                                   for c in LOGO_COLUMNS) for item in listed]
    with atomic_path(out_dir / "logos.tsv") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return listed
