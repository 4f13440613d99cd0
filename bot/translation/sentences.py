"""Offline sentence splitting for translation.

argostranslate splits sentences with MiniSBD or stanza, and its default downloads a model
on first use; a municipal server may have no internet and must send no text anywhere. Chat
messages are short and plainly punctuated, so a rule does the job: a sentence ends at a
line break, or at . ! ? … (with any closing quotes or brackets) followed by white space and
something that is not a lower-case letter ("esim. kunta" stays one sentence), or at the
full stops of scripts that need no space after them (。！？؟).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_BOUNDARY: Final = re.compile(
    r"(?P<end>[.!?…]+[\"'»”’)\]]*)(?P<space>[^\S\n]+)(?=\S)"
    r"|(?P<wide>[。！？؟])(?P<wide_space>[^\S\n]*)(?=\S)"
)


@dataclass(frozen=True)
class Segment:
    """A sentence and the white space that followed it in the original text."""

    sentence: str
    separator: str


def split_sentences(text: str) -> list[Segment]:
    segments: list[Segment] = []
    for line, line_break in _lines(text):
        start = 0
        for match in _BOUNDARY.finditer(line):
            following = line[match.end() : match.end() + 1]
            if match.group("end") is not None and following.islower():
                continue
            split_at = match.end("end") if match.group("end") is not None else match.end("wide")
            segments.append(Segment(line[start:split_at], line[split_at : match.end()]))
            start = match.end()
        segments.append(Segment(line[start:], line_break))
    return segments


def join_sentences(sentences: list[str], segments: list[Segment]) -> str:
    """The translated sentences with the original separators (line breaks stay line breaks)."""
    return "".join(
        sentence + segment.separator for sentence, segment in zip(sentences, segments, strict=True)
    )


def _lines(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"(\r?\n)", text)
    # re.split with a group alternates text and separators, ending with text.
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]
