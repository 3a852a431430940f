"""Window ids ``chrom:start-end``: formatting and parsing."""
from __future__ import annotations

import numpy as np

from tfbinding.ids import format_ids, parse_ids


def test_format_ids_equals_f_strings_and_parse_ids_inverts_it():
    starts = np.array([0, 9, 10, 99, 100, 999_999, 1_000_000, 5], dtype=np.int64)
    ends = starts + np.array([1, 1, 90, 1, 900, 1, 7, 123_456_789])
    ids = format_ids("chr22", starts, ends)
    assert ids.tolist() == [f"chr22:{s}-{e}" for s, e in zip(starts.tolist(), ends.tolist())]
    chroms, parsed_starts, parsed_ends = parse_ids(ids)
    assert chroms.tolist() == ["chr22"] * len(starts)
    assert parsed_starts.tolist() == starts.tolist()
    assert parsed_ends.tolist() == ends.tolist()
    assert format_ids("chrM", np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)
