"""Per-language intent precision, recall and F1 from Rasa's cross-validation output.

`make nlu-eval` runs `rasa test nlu --cross-validation` on the one multilingual model's
data, then this script splits the pooled predictions by the language folder each example
came from and writes reports/nlu-eval.md and reports/nlu-eval.json.

Rasa's evaluation reports the intent classifier's own prediction, before the
FallbackClassifier. The assistant as deployed also rejects anything under the fallback
threshold, so out-of-scope rejection is counted both ways, and the F1 both ways too.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
REJECTED = ("out_of_scope", "nlu_fallback")
GOAL_MACRO_F1 = 0.95
GOAL_REJECTION = 0.90


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


def scores(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per gold intent, from (gold, predicted) pairs."""
    gold_intents = sorted({gold for gold, _ in pairs})
    table: dict[str, dict[str, float]] = {}
    for intent in gold_intents:
        true_pos = sum(1 for g, p in pairs if g == intent and p == intent)
        predicted = sum(1 for _, p in pairs if p == intent)
        support = sum(1 for g, _ in pairs if g == intent)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return table


def fallback_threshold(config_path: Path) -> float:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return 0.0


def macro(table: dict[str, dict[str, float]], key: str) -> float:
    return sum(row[key] for row in table.values()) / len(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=Path("reports/nlu-cv"))
    parser.add_argument("--nlu", type=Path, default=Path("data/nlu"))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    args = parser.parse_args()
    threshold = fallback_threshold(args.config)

    languages = example_languages(args.nlu)
    pairs_by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    deployed_by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in ("intent_successes.json", "intent_errors.json"):
        path = args.results / name
        if not path.exists():
            continue
        for result in json.loads(path.read_text(encoding="utf-8")):
            language = languages.get(result["text"].strip(), "unknown")
            prediction = result.get("intent_prediction") or {}
            predicted = prediction.get("name") or "None"
            confidence = float(prediction.get("confidence") or 0.0)
            pairs_by_language[language].append((result["intent"], predicted))
            deployed = "nlu_fallback" if confidence < threshold else predicted
            deployed_by_language[language].append((result["intent"], deployed))

    report: dict[str, object] = {}
    lines = [
        f"Intent classifier alone, and as deployed (fallback under {threshold}):",
        "",
        "| language | examples | macro precision | macro recall | macro F1 "
        "| out of scope rejected | F1 as deployed | out of scope rejected as deployed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst: list[str] = []
    for language in sorted(pairs_by_language):
        pairs = pairs_by_language[language]
        table = scores(pairs)
        deployed_table = scores(deployed_by_language[language])
        summary = {key: macro(table, key) for key in ("precision", "recall", "f1")}
        oos = [p for g, p in pairs if g == "out_of_scope"]
        oos_deployed = [p for g, p in deployed_by_language[language] if g == "out_of_scope"]
        rejection = sum(1 for p in oos if p in REJECTED) / len(oos) if oos else float("nan")
        rejection_deployed = (
            sum(1 for p in oos_deployed if p in REJECTED) / len(oos_deployed)
            if oos_deployed
            else float("nan")
        )
        report[language] = {
            "macro": summary,
            "macro_f1_deployed": macro(deployed_table, "f1"),
            "out_of_scope_rejected": rejection,
            "out_of_scope_rejected_deployed": rejection_deployed,
            "intents": table,
        }
        lines.append(
            f"| {language} | {len(pairs)} | {summary['precision']:.3f} | {summary['recall']:.3f} "
            f"| {summary['f1']:.3f} | {rejection:.1%} | {macro(deployed_table, 'f1'):.3f} "
            f"| {rejection_deployed:.1%} |"
        )
        worst += [
            f"| {language} | {intent} | {row['precision']:.2f} | {row['recall']:.2f} "
            f"| {row['f1']:.2f} | {int(row['support'])} |"
            for intent, row in table.items()
            if row["f1"] < GOAL_MACRO_F1
        ]
    lines += [
        "",
        f"Goal: macro F1 ≥ {GOAL_MACRO_F1} in every language; out of scope rejected "
        f"(out_of_scope or nlu_fallback) ≥ {GOAL_REJECTION:.0%}.",
    ]
    if worst:
        lines += [
            "",
            "Intents under the goal:",
            "",
            "| language | intent | precision | recall | F1 | examples |",
            "|---|---|---|---|---|---|",
            *worst,
        ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nlu-eval.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (args.out / "nlu-eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
