"""The JASPAR JUND matrix in resources/ and the motif baseline's scoring."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from tfbinding.data.onehot import one_hot
from tfbinding.errors import InputError
from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar

MATRIX = REPO / "resources" / "motifs" / "MA0491.3.jaspar"


def test_stored_matrix_equals_pyjaspar():
    pyjaspar = pytest.importorskip("pyjaspar")
    motif = pyjaspar.jaspardb(release="JASPAR2026").fetch_motif_by_id("MA0491.3")
    header, counts = read_jaspar(MATRIX)
    assert header.split()[:2] == ["MA0491.3", "JUND"]
    expected = np.array([motif.counts[base] for base in "ACGT"]).T
    np.testing.assert_allclose(counts, expected)


def test_consensus_site_scores_highest_on_both_strands():
    pwm = log_odds(read_jaspar(MATRIX)[1])
    consensus = "".join("ACGT"[i] for i in pwm.argmax(axis=1))
    assert consensus in ("ATGACTCAT", "ATGAGTCAT")
    background = "CCCCCCCCCCCCCCCCCCCC"
    forward = one_hot(background[:5] + consensus + background[:6])
    reverse = forward[::-1, ::-1]
    empty = one_hot("N" * 20)
    scores = best_match_scores(np.stack([forward, reverse, empty]), pwm)
    assert scores[0] == pytest.approx(pwm.max(axis=1).sum(), rel=1e-5)
    assert scores[1] == pytest.approx(scores[0], rel=1e-5)  # the reverse complement matches too
    assert scores[2] == 0.0  # N rows add nothing


def test_a_bad_matrix_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jaspar"
    bad.write_text(">MA1 X\nA [1 2]\nZ [1 2]\n")
    with pytest.raises(InputError, match="line 3"):
        read_jaspar(bad)
