"""Keeps the `responses:` of domain.yml equal to the English content.

Rasa's data validation wants every utter_* that rules and stories name declared among the
domain's responses, although the app renders them (responses that only actions or the
gateway send need no entry). The English content is the source; the block below a marker
in domain.yml is rewritten from it, never edited by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.nlg.content import ContentCatalog
from bot.nlg.markup import plain

MARKER = "# --- responses: written by `lotsen content sync-domain`"
SOURCE_LANGUAGE = "en"
DIALOGUE_KINDS = ("rules", "stories")


def responses_in_dialogue_data(data_dir: Path) -> set[str]:
    """Every utter_* a rule or story of data/rules and data/stories names."""
    used: set[str] = set()
    for kind in DIALOGUE_KINDS:
        for path in sorted((data_dir / kind).glob("*.yml")):
            with path.open(encoding="utf-8") as handle:
                items = (yaml.safe_load(handle) or {}).get(kind) or []
            for item in items:
                for step in item.get("steps") or []:
                    action = str(step.get("action", ""))
                    if action.startswith("utter_"):
                        used.add(action)
    return used


def responses_block(catalog: ContentCatalog, data_dir: Path) -> str:
    used = responses_in_dialogue_data(data_dir)
    missing = used - catalog.names(SOURCE_LANGUAGE)
    if missing:
        raise ValueError(f"no English content for {', '.join(sorted(missing))}")
    responses: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(used):
        variants = []
        for variant in catalog.variants(name, SOURCE_LANGUAGE):
            # Without the marks the widget reads (bot/nlg/markup.py): Rasa only checks names.
            entry: dict[str, Any] = {"text": plain(variant.text).strip()}
            if variant.buttons:
                entry["buttons"] = [
                    {"title": b.title, "payload": b.payload} for b in variant.buttons
                ]
            variants.append(entry)
        responses[name] = variants
    return yaml.dump(
        {"responses": responses},
        Dumper=_BlockTextDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )


class _BlockTextDumper(yaml.SafeDumper):
    """Writes multi-line texts as `|` blocks, as a person would."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockTextDumper.add_representer(str, _represent_text)


def synced_domain_text(domain_path: Path, catalog: ContentCatalog, data_dir: Path) -> str:
    lines = domain_path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(MARKER)]
    if not starts:
        raise ValueError(f"{domain_path} lacks the line starting with {MARKER!r}")
    end = starts[0] + 1
    while end < len(lines) and lines[end].startswith("#"):
        end += 1
    return "\n".join(lines[:end]) + "\n" + responses_block(catalog, data_dir)
