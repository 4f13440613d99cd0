"""Making what people type safe to store and safe to hand to Rasa."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 control characters except tab and newline, plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Rasa reads a message that starts with "/" as an intent with entities (`/intent{...}`);
# only payloads the gateway issued on buttons may do that.
_INTENT_PREFIX = re.compile(r"^[\s/]+")


def clean_text(text: str) -> str:
    """Text as a person meant it: valid Unicode, no control characters, no intent syntax."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _INTENT_PREFIX.sub("", text)
    return text.strip()
