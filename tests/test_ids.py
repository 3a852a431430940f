"""Window ids ``chrom:start-end``: formatting and parsing."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --------------------------------------------------------------------------- names with ':'

#: reference sequence names as the SAM specification allows them (what samtools indexes)
SAM_NAME = r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*"
#: any FASTA name: a header's first word, so anything but whitespace (and NUL)
FASTA_NAME = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1)


def test_hla_contig_names_with_colons_round_trip():
    name = "HLA-A*01:01:01:01"
    ids = format_ids(name, np.array([0, 1234]), np.array([101, 1335]))
    assert ids.tolist() == [f"{name}:0-101", f"{name}:1234-1335"]
    chroms, starts, ends = parse_ids(ids)
    assert chroms.tolist() == [name, name] and starts.tolist() == [0, 1234] and ends.tolist() == [101, 1335]


@given(name=st.one_of(st.from_regex(SAM_NAME, fullmatch=True), FASTA_NAME),
       starts=st.lists(st.integers(0, 2**40), min_size=1, max_size=20),
       lengths=st.lists(st.integers(1, 10**6), min_size=1, max_size=20))
@settings(max_examples=300, deadline=None)
def test_ids_round_trip_for_every_name_a_fasta_allows(name, starts, lengths):
    n = min(len(starts), len(lengths))
    starts = np.array(starts[:n], dtype=np.int64)
    ends = starts + np.array(lengths[:n], dtype=np.int64)
    ids = format_ids(name, starts, ends)
    assert ids.tolist() == [f"{name}:{s}-{e}" for s, e in zip(starts.tolist(), ends.tolist())]
    chroms, parsed_starts, parsed_ends = parse_ids(ids)
    assert chroms.tolist() == [name] * n
    assert parsed_starts.tolist() == starts.tolist() and parsed_ends.tolist() == ends.tolist()


def test_parse_ids_refuses_what_is_no_id():
    with pytest.raises(ValueError, match="'chr1' is not 'chrom:start-end'"):
        parse_ids(np.array(["chr1:1-2", "chr1"]))
