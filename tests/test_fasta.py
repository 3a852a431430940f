"""Tests for tfbinding.io.fasta: FASTA preparation (plain, gzip, bgzip, CRLF), indexing, reads."""
from __future__ import annotations

import gzip
import hashlib
import json
import os

import numpy as np
import pyfaidx
import pysam
import pytest

from tfbinding.checksums import sha256sum
from tfbinding.data import prepare_genome as genome_module
from tfbinding.data.prepare_genome import prepare_fasta
from tfbinding.errors import InputError
from tfbinding.io.fasta import Genome, compression_of, describe_names, read_fai

RECORDS = {
    "chr1": "ACGTACGTNNacgtRYKMACGTACGTAC",  # 28 bp, lowercase and IUPAC kept
    "chr2": "GGGGCCCCAT",                   # 10 bp
    "chrM": "T",                            # 1 bp
}


def fasta_text(records=RECORDS, width=8) -> str:
    lines = []
    for name, sequence in records.items():
        lines.append(f">{name} some description")
        lines.extend(sequence[i:i + width] for i in range(0, len(sequence), width))
    return "\n".join(lines) + "\n"


@pytest.fixture
def plain_fasta(tmp_path):
    path = tmp_path / "src" / "genome.fa"
    path.parent.mkdir()
    path.write_text(fasta_text())
    return path


def check_prepared(dest, records=RECORDS):
    """dest is an LF-only FASTA with a .fai, and both pysam and pyfaidx read the records."""
    assert b"\r" not in dest.read_bytes()
    assert {k: r.length for k, r in read_fai(f"{dest}.fai").items()} == {k: len(v) for k, v in records.items()}
    genome = Genome(dest)
    faidx = pyfaidx.Fasta(str(dest), sequence_always_upper=False)
    try:
        for name, sequence in records.items():
            got = genome.sequence(name)
            assert got.dtype == np.uint8
            assert got.tobytes() == sequence.encode()
            assert got.tobytes() == str(faidx[name][:]).encode()
    finally:
        faidx.close()


# --------------------------------------------------------------------------- compression_of

def test_compression_of(tmp_path, plain_fasta):
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(plain_fasta.read_bytes()))
    bgz = tmp_path / "g.fa.bgz"
    pysam.tabix_compress(str(plain_fasta), str(bgz))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert compression_of(plain_fasta) == "none"
    assert compression_of(gz) == "gzip"
    assert compression_of(bgz) == "bgzip"
    assert compression_of(empty) == "none"


def gzip_with_extra_field(data: bytes, subfield: bytes) -> bytes:
    """A gzip member whose header carries an FEXTRA subfield (as BGZF does with 'BC')."""
    import struct
    import zlib
    extra = subfield + struct.pack("<H", 2) + b"\x00\x00"
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def test_gzip_with_another_extra_field_is_gzip_not_bgzip(tmp_path, plain_fasta):
    path = tmp_path / "extra.fa.gz"
    path.write_bytes(gzip_with_extra_field(plain_fasta.read_bytes(), b"AB"))
    assert gzip.decompress(path.read_bytes()) == plain_fasta.read_bytes()  # a valid gzip
    assert compression_of(path) == "gzip"
    bc = tmp_path / "bc.fa.gz"
    bc.write_bytes(gzip_with_extra_field(plain_fasta.read_bytes(), b"BC"))
    assert compression_of(bc) == "bgzip"
    dest = tmp_path / "out" / "genome.fa"
    assert prepare_fasta(path, dest)["compression"] == "gzip"
    check_prepared(dest)


def test_sha256sum_matches_hashlib(plain_fasta):
    assert sha256sum(plain_fasta) == hashlib.sha256(plain_fasta.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- prepare_fasta

def test_plain_fasta_is_symlinked_and_indexed(tmp_path, plain_fasta):
    dest = tmp_path / "out" / "genome.fa"
    description = prepare_fasta(plain_fasta, dest)
    assert dest.is_symlink()
    assert dest.resolve() == plain_fasta.resolve()
    assert description["compression"] == "none"
    assert description["crlf_rewritten"] is False
    assert description["records"] == 3
    assert description["bytes"] == plain_fasta.stat().st_size
    assert description["sha256"] == sha256sum(plain_fasta)
    assert json.loads(open(f"{dest}.source.json").read()) == description
    check_prepared(dest)
    # no partial files are left beside the outputs
    assert sorted(p.name for p in dest.parent.iterdir()) == [
        "genome.fa", "genome.fa.fai", "genome.fa.source.json"]


def test_gzip_fasta_is_decompressed(tmp_path, plain_fasta):
    source = tmp_path / "genome.fa.gz"
    source.write_bytes(gzip.compress(plain_fasta.read_bytes()))
    dest = tmp_path / "out" / "genome.fa"
    description = prepare_fasta(source, dest)
    assert not dest.is_symlink()
    assert dest.read_bytes() == plain_fasta.read_bytes()
    assert description["compression"] == "gzip"
    assert description["sha256"] == sha256sum(source)
    check_prepared(dest)


def test_bgzip_fasta_is_decompressed(tmp_path, plain_fasta):
    source = tmp_path / "genome.fa.bgz"
    pysam.tabix_compress(str(plain_fasta), str(source))
    dest = tmp_path / "out" / "genome.fa"
    description = prepare_fasta(source, dest)
    assert description["compression"] == "bgzip"
    assert not dest.is_symlink()
    assert dest.read_bytes() == plain_fasta.read_bytes()
    check_prepared(dest)


def test_crlf_fasta_is_rewritten_with_the_same_sequence(tmp_path, plain_fasta):
    source = tmp_path / "crlf.fa"
    source.write_bytes(plain_fasta.read_bytes().replace(b"\n", b"\r\n"))
    dest = tmp_path / "out" / "genome.fa"
    description = prepare_fasta(source, dest)
    assert description["crlf_rewritten"] is True
    assert description["compression"] == "none"
    assert not dest.is_symlink()
    assert dest.read_bytes() == plain_fasta.read_bytes()
    check_prepared(dest)


def test_gzip_crlf_fasta_is_decompressed_and_rewritten(tmp_path, plain_fasta):
    source = tmp_path / "crlf.fa.gz"
    source.write_bytes(gzip.compress(plain_fasta.read_bytes().replace(b"\n", b"\r\n")))
    dest = tmp_path / "out" / "genome.fa"
    assert prepare_fasta(source, dest)["crlf_rewritten"] is True
    assert dest.read_bytes() == plain_fasta.read_bytes()
    check_prepared(dest)


def test_preparing_again_replaces_the_outputs(tmp_path, plain_fasta):
    dest = tmp_path / "out" / "genome.fa"
    prepare_fasta(plain_fasta, dest)
    other = dict(RECORDS, chr3="ACGTA")
    source = tmp_path / "other.fa.gz"
    source.write_bytes(gzip.compress(fasta_text(other).encode()))
    prepare_fasta(source, dest)
    assert not dest.is_symlink()
    check_prepared(dest, other)


@pytest.mark.parametrize("block", [1, 3, 7, 16, 64])
def test_small_read_blocks_give_the_same_result(tmp_path, plain_fasta, monkeypatch, block):
    """The scanner reads in blocks of whole lines; headers must be found across block ends."""
    monkeypatch.setattr(genome_module, "_BLOCK", block)
    source = tmp_path / "crlf.fa"
    source.write_bytes(plain_fasta.read_bytes().replace(b"\n", b"\r\n"))
    dest = tmp_path / "out" / "genome.fa"
    description = prepare_fasta(source, dest)
    assert description["records"] == 3
    assert dest.read_bytes() == plain_fasta.read_bytes()
    dup = tmp_path / "dup.fa"
    dup.write_text(">a\nACGT\nACGT\n>b\nAC\n>a x\nGG\n")
    with pytest.raises(InputError, match=r"line 6: duplicate FASTA record 'a' \(first seen on line 1\)"):
        prepare_fasta(dup, tmp_path / "out2" / "dup.fa")


def test_duplicate_record_names_the_line_of_the_duplicate(tmp_path):
    source = tmp_path / "dup.fa"
    source.write_text(">a\nACGT\n>b desc\nAC\n>b other\nGG\n")
    dest = tmp_path / "out" / "genome.fa"
    with pytest.raises(InputError) as info:
        prepare_fasta(source, dest)
    message = str(info.value)
    assert str(source) in message
    assert "line 5" in message
    assert "duplicate FASTA record 'b'" in message
    assert "first seen on line 3" in message
    assert not dest.exists() and not dest.is_symlink()
    assert not os.path.exists(f"{dest}.fai")


def test_duplicate_in_gzip_fasta(tmp_path):
    source = tmp_path / "dup.fa.gz"
    source.write_bytes(gzip.compress(b">a\nAC\n>a\nGG\n"))
    dest = tmp_path / "out" / "genome.fa"
    with pytest.raises(InputError, match=r"line 3: duplicate FASTA record 'a'"):
        prepare_fasta(source, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial file either


@pytest.mark.parametrize("content", [b"chr1\t10\t20\n", b"hello world\n>chr1\nACGT\n"])
def test_non_fasta_file(tmp_path, content):
    source = tmp_path / "peaks.bed"
    source.write_bytes(content)
    dest = tmp_path / "out" / "genome.fa"
    with pytest.raises(InputError) as info:
        prepare_fasta(source, dest)
    message = str(info.value)
    assert str(source) in message and "line 1" in message and "not a FASTA file" in message
    assert not dest.exists() and not dest.is_symlink()


def test_empty_and_missing_fasta(tmp_path):
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        prepare_fasta(empty, tmp_path / "out" / "a.fa")
    with pytest.raises(InputError, match="does not exist"):
        prepare_fasta(tmp_path / "missing.fa", tmp_path / "out" / "b.fa")


def test_header_without_name(tmp_path):
    source = tmp_path / "noname.fa"
    source.write_text(">a\nAC\n>\nGG\n")
    with pytest.raises(InputError, match=r"line 3: a FASTA header has no sequence name"):
        prepare_fasta(source, tmp_path / "out" / "g.fa")


def test_ragged_lines_cannot_be_indexed(tmp_path):
    source = tmp_path / "ragged.fa"
    source.write_text(">a\nACGT\nAC\nACGT\n")
    dest = tmp_path / "out" / "g.fa"
    with pytest.raises(InputError, match="samtools faidx could not index it"):
        prepare_fasta(source, dest)
    assert not os.path.exists(f"{dest}.fai")


# --------------------------------------------------------------------------- Genome

def test_genome_needs_an_index(tmp_path, plain_fasta):
    with pytest.raises(InputError, match="no .fai index"):
        Genome(plain_fasta)


def test_genome_sizes_in_file_order_and_sequence_slices(tmp_path, plain_fasta):
    dest = tmp_path / "out" / "genome.fa"
    prepare_fasta(plain_fasta, dest)
    genome = Genome(dest)
    assert list(genome.sizes) == ["chr1", "chr2", "chrM"]
    chr1 = genome.sequence("chr1")
    faidx = pyfaidx.Fasta(str(dest), sequence_always_upper=False)
    try:
        # 0-based half-open slices equal pyfaidx's slices of the same record
        for start, end in [(0, 4), (8, 12), (10, 20), (27, 28)]:
            assert chr1[start:end].tobytes() == str(faidx["chr1"][start:end]).encode()
    finally:
        faidx.close()
    assert chr1[8:12].tobytes() == b"NNac"


def test_check_chromosomes_lists_the_fasta_names(tmp_path, plain_fasta):
    dest = tmp_path / "out" / "genome.fa"
    prepare_fasta(plain_fasta, dest)
    genome = Genome(dest)
    genome.check_chromosomes(["chr1", "chrM"])  # fine
    with pytest.raises(InputError) as info:
        genome.check_chromosomes(["chr1", "chr22", "1"])
    message = str(info.value)
    assert str(dest) in message
    assert "chr22, 1 are not in the FASTA" in message
    assert "chr1, chr2, chrM" in message
    with pytest.raises(InputError, match="chrX"):
        genome.sequence("chrX")


# --------------------------------------------------------------------------- helpers

def test_describe_names_sorted_and_truncated():
    assert describe_names({"b", "a"}) == "a, b"
    names = [f"c{i:02d}" for i in range(10)]
    assert describe_names(names, most=3) == "c00, c01, c02, … (10 in all)"


# --------------------------------------------------------------------------- corrupt bytes

def load_and_check(dest, name):
    """What the pipeline does with a chromosome: read it, then check its alphabet."""
    from tfbinding.data.onehot import base_classes
    sequence = Genome(dest).sequence(name)
    base_classes(sequence, f"{dest}: {name}")
    return sequence


def test_corrupt_ascii_byte_is_reported_with_its_position(tmp_path):
    source = tmp_path / "bad.fa"
    source.write_bytes(b">a\nAC*T\n")
    dest = tmp_path / "out" / "bad.fa"
    prepare_fasta(source, dest)
    with pytest.raises(InputError, match=r"position 2 .* holds '\*'"):
        load_and_check(dest, "a")


def test_non_ascii_byte_gives_an_input_error(tmp_path):
    source = tmp_path / "latin1.fa"
    source.write_bytes(b">a\nAC\xe9T\n")
    dest = tmp_path / "out" / "latin1.fa"
    with pytest.raises(InputError):
        prepare_fasta(source, dest)
        load_and_check(dest, "a")


def test_nul_byte_is_not_silently_truncated(tmp_path):
    source = tmp_path / "nul.fa"
    source.write_bytes(b">a\nAC\x00T\n")
    dest = tmp_path / "out" / "nul.fa"
    with pytest.raises(InputError):
        prepare_fasta(source, dest)
        load_and_check(dest, "a")


def test_last_header_without_newline_is_read_whole(tmp_path):
    source = tmp_path / "tail.fa"
    source.write_bytes(b">a\nAC\n>aa")
    with pytest.raises(InputError) as info:
        prepare_fasta(source, tmp_path / "out" / "tail.fa")
    # the file is invalid (the last record is empty), but not because of a duplicate name
    assert "duplicate" not in str(info.value)


# --------------------------------------------------------------------------- issue 11

@pytest.mark.parametrize("cut", [0.3, 0.8])
def test_truncated_gzip_fasta_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, cut):
    body = gzip.compress(fasta_text({"chr1": "ACGT" * 5000, "chr2": "GATTACA" * 3000}).encode())
    source = tmp_path / "cut.fa.gz"
    source.write_bytes(body[:int(len(body) * cut)])
    dest = tmp_path / "out" / "cut.fa"
    with pytest.raises(InputError) as info:
        prepare_fasta(source, dest)
    message = str(info.value)
    assert message.startswith(f"{source}: the gzip file is truncated or corrupt") and "\n" not in message
    assert os.listdir(dest.parent) == []


def test_empty_record_listed_is_reported_as_empty_not_absent(tmp_path):
    source = tmp_path / "g.fa"
    source.write_text(">chr1\nACGTACGT\n>chrUn_empty\n>chr2\nGGCC\n")
    dest = tmp_path / "out" / "g.fa"
    info = prepare_fasta(source, dest)
    assert info["empty_records"] == ["chrUn_empty"] and info["records"] == 3
    genome = Genome(dest)
    with pytest.raises(InputError, match=r"FASTA record\(s\) chrUn_empty are empty: a header line with "
                                         r"no sequence after it. Remove them from 'chromosomes'"):
        genome.check_chromosomes(["chr1", "chrUn_empty"])
    with pytest.raises(InputError, match="chrX are not in the FASTA"):
        genome.check_chromosomes(["chrX"])
    assert genome.sequence("chr2").tobytes() == b"GGCC"


def test_an_empty_last_record_is_named(tmp_path):
    source = tmp_path / "g.fa"
    source.write_text(">chr1\nACGTACGT\n>chrUn_empty\n\n")
    with pytest.raises(InputError, match=r"g.fa: the last FASTA record, 'chrUn_empty', is empty"):
        prepare_fasta(source, tmp_path / "out" / "g.fa")
    assert os.listdir(tmp_path / "out") == []
