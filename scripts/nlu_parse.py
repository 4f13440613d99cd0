"""Parses a held-out NLU set with a trained model, exactly as the Rasa server would.

Runs in the Rasa environment (`.venv-rasa/bin/python scripts/nlu_parse.py`); `make
nlu-heldout` calls it and then scripts/nlu_report.py. Each example goes through the whole
NLU pipeline, FallbackClassifier included, after the same clean-up the gateway applies
(NFC, no leading "/"). The output keeps the language, the gold intent, the intent and the
ranking the model gave, and no text: the held-out set is read by scores and confusion
pairs only, so that nobody tunes the training data to its sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def examples(path: Path) -> list[tuple[str, str]]:
    """(gold intent, plain text) of every example in one Rasa NLU file."""
    found: list[tuple[str, str]] = []
    for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
        if "intent" not in item:
            continue
        for line in str(item.get("examples", "")).splitlines():
            text = line.strip()
            if text.startswith("- "):
                found.append((item["intent"], ANNOTATION.sub(r"\1", text[2:].strip())))
    return found


def as_the_gateway_sends_it(text: str) -> str:
    return unicodedata.normalize("NFC", text).lstrip("/").strip()


async def parse_all(
    model: Path, examples_by_language: dict[str, list[tuple[str, str]]]
) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Unconfigured, structlog prints Rasa's debug events, which hold the message text.
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    parses: list[dict[str, Any]] = []
    for language, items in examples_by_language.items():
        for gold, text in items:
            parsed = await agent.parse_message(as_the_gateway_sends_it(text))
            parses.append(
                {
                    "language": language,
                    "intent": gold,
                    "prediction": parsed.get("intent") or {},
                    "ranking": parsed.get("intent_ranking") or [],
                }
            )
    return parses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/lotsen.tar.gz"))
    parser.add_argument("--data", type=Path, default=Path("tests/nlu_heldout"))
    parser.add_argument("--out", type=Path, default=Path("reports/nlu-heldout-parses.json"))
    args = parser.parse_args()
    by_language = {path.stem: examples(path) for path in sorted(args.data.glob("*.yml"))}
    parses = asyncio.run(parse_all(args.model, by_language))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(parses), encoding="utf-8")
    print(f"{len(parses)} held-out examples parsed with {args.model} into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
