from __future__ import annotations

import pytest

from bot.conversations.text import clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  hej  ", "hej"),
        ("/greet", "greet"),
        ('  //my_case_status{"case_id": 7}', 'my_case_status{"case_id": 7}'),
        ("a/b", "a/b"),
        ("tab\there\nnew line", "tab\there\nnew line"),
        ("bell\x07 null\x00 esc\x1b del\x7f c1\x85", "bell null esc del c1"),
        ("lone \ud83d surrogate", "lone \ufffd surrogate"),
        ("Привіт 👋", "Привіт 👋"),
        ("cafe\u0301", "café"),
        ("\x00\x01", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_cleaned_text_encodes_as_utf8() -> None:
    clean_text("\ud800\udfff\udc00").encode("utf-8")
