"""Per-language NLU scores: the cross-validation, and the independent held-out set as deployed.

`make nlu-eval` runs both; `make nlu-heldout` only the held-out part.

- `cv`: Rasa's cross-validation output (`rasa test nlu --cross-validation`) on the one
  multilingual model's data, split by the language folder each example came from, into
  reports/nlu-eval.md and .json.
- `heldout`: the parses scripts/nlu_parse.py wrote for tests/nlu_heldout/, into
  reports/nlu-heldout.md and .json.

As deployed, a message under the FallbackClassifier's threshold, or too close between its
two likeliest intents, is "not understood" (nlu_fallback). That is wrong for every intent
except out_of_scope, where nlu_fallback and out_of_scope both count as rejected: the
scores below treat the two as one label. Rasa's cross-validation output keeps only the
classifier's top intent, so there the ambiguity threshold cannot be applied.

The reports hold counts, scores and confusion pairs (intent A read as B), never the
held-out sentences, so that training data is written from where the misses cluster and
not from the test sentences themselves.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
GOAL_MACRO_F1 = 0.95
GOAL_REJECTION = 0.90
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
AMBIGUITY_THRESHOLDS = (0.0, 0.05, 0.1)


@dataclass(frozen=True)
class Fallback:
    threshold: float
    ambiguity: float


@dataclass(frozen=True)
class Prediction:
    """One example: its gold intent and the classifier's ranking (fallback left out)."""

    gold: str
    ranking: tuple[tuple[str, float], ...]

    def classifier(self) -> str:
        return self.ranking[0][0] if self.ranking else FALLBACK

    def deployed(self, fallback: Fallback) -> str:
        if not self.ranking:
            return FALLBACK
        first = self.ranking[0][1]
        second = self.ranking[1][1] if len(self.ranking) > 1 else 0.0
        if first < fallback.threshold or first - second < fallback.ambiguity:
            return FALLBACK
        return self.ranking[0][0]


def rejected_as_one(label: str) -> str:
    return OUT_OF_SCOPE if label == FALLBACK else label


def scores(pairs: list[tuple[str, str]], labels: Iterable[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label, from (gold, predicted) pairs in which
    nlu_fallback already counts as out_of_scope."""
    table: dict[str, dict[str, float]] = {}
    for label in sorted(labels):
        true_pos = sum(1 for g, p in pairs if g == label and p == label)
        predicted = sum(1 for _, p in pairs if p == label)
        support = sum(1 for g, _ in pairs if g == label)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return table


def macro_f1(pairs: list[tuple[str, str]], labels: Iterable[str]) -> float:
    table = scores(pairs, labels)
    return sum(row["f1"] for row in table.values()) / len(table) if table else float("nan")


def rejection(pairs: list[tuple[str, str]]) -> float:
    """Share of out-of-scope messages rejected (out_of_scope or nlu_fallback)."""
    predicted = [p for g, p in pairs if g == OUT_OF_SCOPE]
    if not predicted:
        return float("nan")
    return sum(1 for p in predicted if rejected_as_one(p) == OUT_OF_SCOPE) / len(predicted)


def not_understood(pairs: list[tuple[str, str]]) -> float:
    """Share of in-scope messages answered with "I did not understand"."""
    predicted = [p for g, p in pairs if g != OUT_OF_SCOPE]
    return sum(1 for p in predicted if p == FALLBACK) / len(predicted) if predicted else 0.0


def evaluate(predictions: list[Prediction], fallback: Fallback) -> dict[str, Any]:
    labels = {p.gold for p in predictions}
    deployed = [(p.gold, p.deployed(fallback)) for p in predictions]
    classifier = [(p.gold, p.classifier()) for p in predictions]
    merged = [(g, rejected_as_one(p)) for g, p in deployed]
    table = scores(merged, labels)
    return {
        "examples": len(predictions),
        "macro_f1_deployed": macro_f1(merged, labels),
        "macro_f1_classifier": macro_f1([(g, rejected_as_one(p)) for g, p in classifier], labels),
        "out_of_scope_rejected": rejection(deployed),
        "not_understood": not_understood(deployed),
        "intents": table,
        "confusions": Counter(f"{g} → {p}" for g, p in deployed if rejected_as_one(p) != g),
    }


def fallback_settings(config_path: Path) -> Fallback:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return Fallback(
                float(component.get("threshold", 0.3)),
                float(component.get("ambiguity_threshold", 0.1)),
            )
    return Fallback(0.0, 0.0)


def report_lines(
    title: str, by_language: dict[str, list[Prediction]], fallback: Fallback, ambiguity_known: bool
) -> tuple[list[str], dict[str, Any]]:
    results = {language: evaluate(p, fallback) for language, p in sorted(by_language.items())}
    ambiguity = f", ambiguity under {fallback.ambiguity}" if ambiguity_known else ""
    lines = [
        f"# {title}",
        "",
        f"As deployed: fallback under {fallback.threshold}{ambiguity}; nlu_fallback counts as "
        "out_of_scope (rejected), so it is right only for out-of-scope messages.",
        "",
        "| language | examples | macro F1 as deployed | out of scope rejected "
        "| in scope not understood | macro F1, classifier alone |",
        "|---|---|---|---|---|---|",
    ]
    for language, result in results.items():
        lines.append(
            f"| {language} | {result['examples']} | {result['macro_f1_deployed']:.3f} "
            f"| {result['out_of_scope_rejected']:.1%} | {result['not_understood']:.1%} "
            f"| {result['macro_f1_classifier']:.3f} |"
        )
    lines += [
        "",
        f"Goal: macro F1 as deployed ≥ {GOAL_MACRO_F1} in every language; out of scope "
        f"rejected ≥ {GOAL_REJECTION:.0%}.",
        "",
        "## Intents under the goal (as deployed)",
        "",
        "| language | intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|---|",
    ]
    for language, result in results.items():
        worst = sorted(result["intents"].items(), key=lambda item: item[1]["f1"])
        lines += [
            f"| {language} | {intent} | {row['precision']:.2f} | {row['recall']:.2f} "
            f"| {row['f1']:.2f} | {int(row['support'])} |"
            for intent, row in worst
            if row["f1"] < GOAL_MACRO_F1
        ]
    lines += ["", "## Most frequent confusions (gold → as deployed, count)", ""]
    for language, result in results.items():
        pairs = ", ".join(f"{pair} ({n})" for pair, n in result["confusions"].most_common())
        lines.append(f"- {language}: {pairs or 'none'}")
    lines += [
        "",
        "## Calibration: the same predictions under other fallback settings",
        "",
        "| threshold | ambiguity | " + " | ".join(f"{lang} F1" for lang in results) + " | "
        "out of scope rejected | in scope not understood |",
        "|---|---|" + "---|" * (len(results) + 2),
    ]
    everything = [p for predictions in by_language.values() for p in predictions]
    for threshold in THRESHOLDS:
        for amb in AMBIGUITY_THRESHOLDS if ambiguity_known else (0.0,):
            setting = Fallback(threshold, amb)
            f1s = " | ".join(
                f"{evaluate(by_language[lang], setting)['macro_f1_deployed']:.3f}"
                for lang in results
            )
            overall = evaluate(everything, setting)
            lines.append(
                f"| {threshold} | {amb} | {f1s} | {overall['out_of_scope_rejected']:.1%} "
                f"| {overall['not_understood']:.1%} |"
            )
    serialisable = {
        language: {**result, "confusions": dict(result["confusions"].most_common())}
        for language, result in results.items()
    }
    return lines, serialisable


def write(out: Path, name: str, lines: list[str], data: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwritten to {out / name}.md and .json")


def example_languages(nlu_dir: Path) -> dict[str, str]:
    """Each training example's plain text, mapped to its language folder."""
    languages: dict[str, str] = {}
    for path in sorted(nlu_dir.glob("*/*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in item:
                continue
            for line in item["examples"].splitlines():
                text = line.strip()
                if text.startswith("- "):
                    languages[ANNOTATION.sub(r"\1", text[2:].strip())] = path.parent.name
    return languages


def cross_validation(args: argparse.Namespace) -> int:
    languages = example_languages(args.nlu)
    by_language: dict[str, list[Prediction]] = defaultdict(list)
    for name in ("intent_successes.json", "intent_errors.json"):
        path = args.results / name
        if not path.exists():
            continue
        for result in json.loads(path.read_text(encoding="utf-8")):
            prediction = result.get("intent_prediction") or {}
            ranking = ((prediction.get("name") or FALLBACK, prediction.get("confidence") or 0.0),)
            language = languages.get(result["text"].strip(), "unknown")
            by_language[language].append(Prediction(result["intent"], ranking))
    lines, data = report_lines(
        "NLU cross-validation per language",
        by_language,
        fallback_settings(args.config),
        ambiguity_known=False,
    )
    write(args.out, "nlu-eval", lines, data)
    return 0


def from_parse(parse: dict[str, Any]) -> Prediction:
    ranking = tuple(
        (entry["name"], float(entry["confidence"]))
        for entry in parse["ranking"]
        if entry.get("name") != FALLBACK
    )
    return Prediction(parse["intent"], ranking)


def held_out(args: argparse.Namespace) -> int:
    parses = json.loads(args.parses.read_text(encoding="utf-8"))
    fallback = fallback_settings(args.config)
    # The calibration table recomputes the fallback from the ranking: that must give what
    # the model itself said, or the model is stale for this config.
    stale = sum(
        1
        for parse in parses
        if (parse["prediction"].get("name") == FALLBACK)
        != (from_parse(parse).deployed(fallback) == FALLBACK)
    )
    if stale:
        print(f"{stale} parses disagree with the fallback of {args.config}: retrain the model")
        return 1
    by_language: dict[str, list[Prediction]] = defaultdict(list)
    for parse in parses:
        by_language[parse["language"]].append(from_parse(parse))
    lines, data = report_lines(
        "NLU on the independent held-out set (tests/nlu_heldout/) per language",
        by_language,
        fallback,
        ambiguity_known=True,
    )
    write(args.out, "nlu-heldout", lines, data)
    return 0


def main() -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.yml"))
    common.add_argument("--out", type=Path, default=Path("reports"))
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cv = commands.add_parser(
        "cv", parents=[common], help="output of rasa test nlu --cross-validation"
    )
    cv.add_argument("--results", type=Path, default=Path("reports/nlu-cv"))
    cv.add_argument("--nlu", type=Path, default=Path("data/nlu"))
    cv.set_defaults(run=cross_validation)
    heldout = commands.add_parser("heldout", parents=[common], help="scripts/nlu_parse.py's parses")
    heldout.add_argument("--parses", type=Path, default=Path("reports/nlu-heldout-parses.json"))
    heldout.set_defaults(run=held_out)
    args = parser.parse_args()
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
