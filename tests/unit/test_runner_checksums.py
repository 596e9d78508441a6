"""Prisma's checksum and its line-ending tolerance."""

from __future__ import annotations

import hashlib

from pytest_tzurot.migrations.checksums import checksum, matches, variants

LF = b"CREATE TABLE a (id int);\n-- note\nCREATE TABLE b (id int);\n"
CRLF = LF.replace(b"\n", b"\r\n")


def test_checksum_is_lowercase_hex_sha256_of_raw_bytes():
    assert checksum(LF) == hashlib.sha256(LF).hexdigest()
    assert checksum(CRLF) != checksum(LF)  # never normalised when written
    assert checksum(b"\xef\xbb\xbfSELECT 1;") == hashlib.sha256(b"\xef\xbb\xbfSELECT 1;").hexdigest()


def test_matches_as_is_and_both_line_ending_conversions():
    assert matches(checksum(LF), LF)
    assert matches(checksum(LF), CRLF)  # recorded on LF, checked out with CRLF
    assert matches(checksum(CRLF), LF)  # recorded on CRLF, checked out with LF
    assert matches(checksum(LF).upper(), LF)


def test_a_real_edit_does_not_match():
    assert not matches(checksum(LF), LF.replace(b"b (id int)", b"b (id bigint)"))
    assert not matches(checksum(LF), LF + b"\n")


def test_lf_to_crlf_keeps_existing_crlf():
    mixed = b"a\r\nb\nc"
    assert variants(mixed) == (mixed, b"a\nb\nc", b"a\r\nb\r\nc")
