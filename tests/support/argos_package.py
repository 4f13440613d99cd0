"""A small but real Argos package, built offline for tests and the benchmark.

A 2-layer CTranslate2 Transformer with random weights (fixed seed) written with
`ctranslate2.specs`, a SentencePiece model trained on a few dozen sentences, and the
package's metadata.json, zipped as an .argosmodel. Its translations are nonsense; every
other part (package format, tokenizer, model loading, decoding) is the real thing.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Sentences of the languages involved, so that the tokenizer has pieces for each script.
TRAINING_TEXT = """\
What is an integration plan?
Who is responsible for my integration services?
I would like to book a meeting with the coordinator.
Can I get an interpreter for the meeting?
The Welcome office gives guidance to newcomers.
Thank you, that was helpful.
Vad är en integrationsplan?
Vem ansvarar för mina integrationstjänster?
Jag vill boka en tid hos koordinatorn.
Kan jag få en tolk till mötet?
Tack så mycket för hjälpen.
Mikä on kotoutumissuunnitelma?
Kuka vastaa kotoutumispalveluistani?
Haluan varata ajan koordinaattorille.
Kiitos paljon avusta.
Що таке план інтеграції?
Хто відповідає за мої послуги інтеграції?
Я хочу записатися на зустріч з координатором.
Чи можу я отримати перекладача на зустріч?
Дякую, це було корисно.
Мій код 482-913, телефон +358 40 123 4567.
Зустріч у вівторок о 10:00, адреса Storgatan 5.
My case number is 2026-0042 and my e-mail is anna@example.fi.
Read more at https://www.example.fi/integration today.
"""
VOCABULARY_SIZE = 200
MODEL_DIMENSION = 32
FEED_FORWARD_DIMENSION = 64
HEADS = 2
LAYERS = 2


def _train_sentencepiece(directory: Path) -> list[str]:
    import sentencepiece as spm

    corpus = directory / "corpus.txt"
    corpus.write_text(TRAINING_TEXT * 4, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(directory / "sentencepiece"),
        vocab_size=VOCABULARY_SIZE,
        character_coverage=1.0,
        model_type="unigram",
        minloglevel=2,
    )
    corpus.unlink()
    (directory / "sentencepiece.vocab").unlink()
    processor = spm.SentencePieceProcessor(model_file=str(directory / "sentencepiece.model"))
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _fill(spec: Any, seed: int, vocabulary: int) -> None:
    """Give every weight of the spec a random value of the shape its place requires."""
    import numpy as np
    from ctranslate2.specs import attention_spec, common_spec, model_spec, transformer_spec

    rng = np.random.default_rng(seed)
    d, ff = MODEL_DIMENSION, FEED_FORWARD_DIMENSION

    def random(*shape: int) -> Any:
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    def visit(node: Any) -> None:
        if isinstance(node, common_spec.LayerNormSpec):
            node.gamma = np.ones(d, dtype=np.float32)
            if hasattr(node, "beta"):
                node.beta = np.zeros(d, dtype=np.float32)
            return
        if isinstance(node, common_spec.EmbeddingsSpec):
            node.weight = random(vocabulary, d)
            return
        if isinstance(node, attention_spec.MultiHeadAttentionSpec):
            # Self-attention: fused QKV and output; cross-attention: query, fused KV, output.
            shapes = [(3 * d, d), (d, d)] if len(node.linear) == 2 else [(d, d), (2 * d, d), (d, d)]
            for linear, shape in zip(node.linear, shapes, strict=True):
                linear.weight = random(*shape)
                linear.bias = np.zeros(shape[0], dtype=np.float32)
            visit(node.layer_norm)
            return
        if isinstance(node, transformer_spec.FeedForwardSpec):
            node.linear_0.weight, node.linear_0.bias = random(ff, d), np.zeros(ff, np.float32)
            node.linear_1.weight, node.linear_1.bias = random(d, ff), np.zeros(d, np.float32)
            visit(node.layer_norm)
            return
        for name, value in vars(node).items():
            if name == "projection":
                value.weight = random(vocabulary, d)
                value.bias = np.zeros(vocabulary, dtype=np.float32)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, model_spec.LayerSpec):
                        visit(item)
            elif isinstance(value, model_spec.LayerSpec):
                visit(value)

    visit(spec)


def build_package(directory: Path, from_code: str, to_code: str, seed: int) -> Path:
    """Write `translate-{from}_{to}.argosmodel` in `directory` and return its path."""
    from ctranslate2.specs import transformer_spec

    root = directory / f"translate-{from_code}_{to_code}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pieces = _train_sentencepiece(root)

    spec = transformer_spec.TransformerSpec.from_config(LAYERS, HEADS)
    _fill(spec, seed, len(pieces))
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.validate()
    (root / "model").mkdir()
    spec.save(str(root / "model"))

    metadata = {
        "package_version": "0.1",
        "argos_version": "1.9",
        "from_code": from_code,
        "from_name": from_code,
        "to_code": to_code,
        "to_name": to_code,
        "type": "translate",
        "links": [],
    }
    (root / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    (root / "README.md").write_text("Test package: random weights.\n", encoding="utf-8")

    archive = directory / f"translate-{from_code}_{to_code}.argosmodel"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(root.rglob("*")):
            zipped.write(path, path.relative_to(directory).as_posix())
    shutil.rmtree(root)
    return archive


def install_packages(packages_dir: Path, pairs: Sequence[tuple[str, str]], seed: int = 7) -> None:
    """Installs one built package under each pair's codes into `packages_dir` (unzipped, as
    argostranslate installs them): a running system's languages in a few seconds."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        archive = build_package(Path(scratch), "xx", "yy", seed)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(scratch)
        built = Path(scratch) / "translate-xx_yy"
        for from_code, to_code in pairs:
            target = packages_dir / f"translate-{from_code}_{to_code}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(built, target)
            metadata = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
            metadata.update(
                from_code=from_code, from_name=from_code, to_code=to_code, to_name=to_code
            )
            (target / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
