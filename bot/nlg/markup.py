"""The two marks an answer's content may carry, and the plain text and layout made of them.

Both are written in double square brackets, which are neither a `{placeholder}` nor Rasa's
`[entity](name)` annotation:

- `[[fi:työllisyysalue]]`: an official term in Finnish (`fi`) or Swedish (`sv`) inside an
  answer in another language. The widget shows it as `<span lang="fi">`, so that a screen
  reader pronounces it as Finnish; Telegram and the API's `text` show it as plain text.
- a line of its own `[[more]]`: the end of the answer's first screen. What follows is shown
  when the person asks for it ("More": a button in the widget, an inline button in
  Telegram). An answer has at most one.

`RenderedMessage.text` is always the plain text (the marks gone, the parts joined by a
newline): what the coordinator's transcript, translation and every other reader sees. The
marked text travels from the NLG endpoint through Rasa to the gateway, which keeps it beside
the plain text (`message.markup`) and gives clients its `layout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MORE_BREAK = "[[more]]"
# The languages of the programme's official terms.
TERM_LANGUAGES = ("fi", "sv")
_TERM = re.compile(r"\[\[(?P<language>[a-z]{2}):(?P<term>[^\[\]\n]*)\]\]")
_BRACKETS = re.compile(r"\[\[|\]\]")


class MarkupError(ValueError):
    pass


@dataclass(frozen=True)
class Run:
    """A stretch of text, in the answer's language or, for a marked term, in `language`."""

    text: str
    language: str | None = None

    def as_json(self) -> dict[str, str]:
        return (
            {"text": self.text}
            if self.language is None
            else {
                "text": self.text,
                "language": self.language,
            }
        )


@dataclass(frozen=True)
class Layout:
    first_screen: tuple[Run, ...]
    # Empty when the whole answer is one screen.
    more: tuple[Run, ...] = ()

    @property
    def plain_first_screen(self) -> str:
        return "".join(run.text for run in self.first_screen)

    @property
    def plain_more(self) -> str:
        return "".join(run.text for run in self.more)

    @property
    def plain_text(self) -> str:
        if not self.more:
            return self.plain_first_screen
        return f"{self.plain_first_screen}\n{self.plain_more}"

    @property
    def terms(self) -> list[Run]:
        return [run for run in (*self.first_screen, *self.more) if run.language is not None]

    def as_json(self) -> dict[str, Any]:
        return {
            "first_screen": [run.as_json() for run in self.first_screen],
            "more": [run.as_json() for run in self.more] or None,
        }


def has_marks(text: str) -> bool:
    return "[[" in text or "]]" in text


def _runs(part: str) -> tuple[Run, ...]:
    runs: list[Run] = []
    last = 0
    for match in _TERM.finditer(part):
        language, term = match["language"], match["term"]
        if language not in TERM_LANGUAGES:
            raise MarkupError(f"[[{language}:…]]: a term is marked fi or sv")
        if not term.strip() or term != term.strip():
            raise MarkupError(f"[[{language}:{term}]]: an empty or padded term")
        if match.start() > last:
            runs.append(Run(part[last : match.start()]))
        runs.append(Run(term, language))
        last = match.end()
    if last < len(part):
        runs.append(Run(part[last:]))
    stray = [run.text for run in runs if run.language is None and _BRACKETS.search(run.text)]
    if stray:
        raise MarkupError(f"unknown mark in {stray[0]!r}: only [[fi:…]], [[sv:…]], [[more]]")
    return tuple(runs)


def parse(markup: str) -> Layout:
    """The layout of a marked text; MarkupError when a mark is malformed."""
    lines = markup.strip().split("\n")
    breaks = [index for index, line in enumerate(lines) if line.strip() == MORE_BREAK]
    if len(breaks) > 1:
        raise MarkupError("more than one [[more]]")
    if not breaks:
        return Layout(_runs("\n".join(lines)))
    first = "\n".join(lines[: breaks[0]]).strip()
    rest = "\n".join(lines[breaks[0] + 1 :]).strip()
    if not first or not rest:
        raise MarkupError("[[more]] needs text before and after it")
    return Layout(_runs(first), _runs(rest))


def plain(text: str) -> str:
    """The text without its marks (a text without marks as it is)."""
    return parse(text).plain_text if has_marks(text) else text


def escape_value(value: str) -> str:
    """A value filled into a text (a person's name, a place) can never make a mark."""
    return _BRACKETS.sub(lambda match: match[0][0], value)


def from_assistant(text: str) -> tuple[str, str | None]:
    """What the gateway keeps of an answer Rasa sent: its plain text and, when it carries
    marks, the marked text. A text whose brackets are no valid marks stays as written."""
    if not has_marks(text):
        return text, None
    try:
        layout = parse(text)
    except MarkupError:
        return text, None
    return layout.plain_text, text.strip()


def layout_of(markup: str | None) -> Layout | None:
    if not markup:
        return None
    try:
        return parse(markup)
    except MarkupError:
        return None
