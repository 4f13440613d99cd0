"""Terms that must come out of a translation exactly as they went in.

Before translation each protected term is replaced by a numbered placeholder; afterwards
the placeholders are put back. A translation model may drop or garble a placeholder, so
any term whose placeholder did not survive is appended to the text: a phone number or a
link code may end up in an odd place, but it is never lost or altered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

# `[7]`: digits and brackets pass through SentencePiece vocabularies and translation models
# far more often than private-use or rare symbols, which become <unk>. Spaces inside the
# brackets and other scripts' digits (`[ ٧ ]`) are accepted when restoring.
PLACEHOLDER: Final = "[{}]"
_PLACEHOLDER_BACK = re.compile(r"\[\s*(\d{1,4})\s*\]")

# In order of precedence: where two patterns overlap, the earlier one wins.
_PATTERNS: Final = (
    # URLs, without the punctuation that ends the sentence around them.
    re.compile(r"(?:https?://|www\.)[^\s<>\"']+(?<![.,;:!?)\]])", re.IGNORECASE),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # Case numbers (2026-0042) and ISO dates before phone numbers, which they resemble.
    re.compile(r"(?<![\w-])\d{4}-\d{4}(?![\w-])"),
    re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])"),
    # Phone numbers: +358 40 123 4567, 040-123 4567, (09) 123 456; seven digits or more
    # (checked below), so that a link code or a year is not taken for one.
    re.compile(r"(?<![\w+])\+?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,5}(?!\w)"),
    # Link codes: 482-913, 482 913.
    re.compile(r"(?<![\w-])\d{3}[- ]\d{3}(?![\w-])"),
    # Finnish and Swedish dates and times: 3.12., 3.12.2026, 10.00, 10:00, 9-16.
    re.compile(r"(?<![\w.])\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})?(?![\w])"),
    re.compile(r"(?<![\w.:])\d{1,2}[:.]\d{2}(?:\s?[-–]\s?\d{1,2}[:.]\d{2})?(?![\w:])"),
    # Something that looks like a placeholder already would be confused with one.
    _PLACEHOLDER_BACK,
)
_MIN_PHONE_DIGITS: Final = 7
_PHONE_PATTERN_INDEX: Final = 4


@dataclass(frozen=True)
class GlossaryTerm:
    """A programme term: the source-language forms to find and the target form to put back."""

    source_forms: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Protected:
    text: str
    # Placeholder number -> the text to put back (the original term, or a glossary target).
    replacements: dict[int, str]


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so "Storgatan 5" wins over "Storgatan".
    cleaned = sorted({name.strip() for name in names if name.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile("|".join(rf"(?<!\w){re.escape(name)}(?!\w)" for name in cleaned))


def _glossary_pattern(form: str) -> re.Pattern[str]:
    # The term at the start of a word, with whatever inflectional ending follows
    # (integrationsplanen, kotoutumissuunnitelmaa): the whole word becomes the target term.
    return re.compile(rf"(?<!\w){re.escape(form)}\w*", re.IGNORECASE)


def protect(
    text: str, names: Sequence[str] = (), glossary: Sequence[GlossaryTerm] = ()
) -> Protected:
    """Replace the protected terms in `text` by placeholders.

    `names` are proper names the caller knows (municipality, coordinator, addresses): they
    come first, since an address holds digits the patterns would otherwise cut apart.
    """
    spans: list[tuple[int, int, str]] = []

    def take(start: int, end: int, replacement: str) -> None:
        if any(start < taken_end and taken_start < end for taken_start, taken_end, _ in spans):
            return
        spans.append((start, end, replacement))

    names_pattern = _names_pattern(names)
    if names_pattern is not None:
        for match in names_pattern.finditer(text):
            take(match.start(), match.end(), match.group())
    for index, pattern in enumerate(_PATTERNS):
        for match in pattern.finditer(text):
            found = match.group()
            if index == _PHONE_PATTERN_INDEX and sum(c.isdigit() for c in found) < (
                _MIN_PHONE_DIGITS
            ):
                continue
            take(match.start(), match.end(), found)
    for term in glossary:
        for form in sorted(term.source_forms, key=len, reverse=True):
            for match in _glossary_pattern(form).finditer(text):
                target = term.target
                if match.group()[:1].isupper() and target[:1].islower():
                    target = target[:1].upper() + target[1:]
                take(match.start(), match.end(), target)

    spans.sort()
    pieces: list[str] = []
    replacements: dict[int, str] = {}
    position = 0
    for number, (start, end, replacement) in enumerate(spans, start=1):
        pieces.append(text[position:start])
        pieces.append(PLACEHOLDER.format(number))
        replacements[number] = replacement
        position = end
    pieces.append(text[position:])
    return Protected("".join(pieces), replacements)


def restore(translated: str, replacements: dict[int, str]) -> str:
    """Put the protected terms back; append any whose placeholder the model lost."""
    restored: set[int] = set()

    def put_back(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in replacements:
            return match.group()
        restored.add(number)
        return replacements[number]

    text = _PLACEHOLDER_BACK.sub(put_back, translated)
    lost = [replacements[number] for number in sorted(replacements) if number not in restored]
    if lost:
        text = " ".join([text.rstrip(), *lost]) if text.strip() else " ".join(lost)
    return text


def has_words(text: str) -> bool:
    """Whether anything but placeholders, digits and punctuation is left to translate."""
    return any(character.isalpha() for character in _PLACEHOLDER_BACK.sub("", text))
