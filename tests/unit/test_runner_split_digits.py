"""Digits of other scripts are identifier characters for the splitter (as for psql), not numbers."""

from __future__ import annotations

from pytest_tzurot.sql.split import leading_words, split


def test_non_ascii_digits_are_word_characters() -> None:
    statements = split("CREATE TABLE t٣ (x int);\nSELECT ١;")
    assert [s.text for s in statements] == ["CREATE TABLE t٣ (x int)", "SELECT ١"]
    assert leading_words("SELECT ١٢ 𝟙 x", 3) == ["SELECT", "١٢", "X"]
