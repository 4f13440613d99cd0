"""Messages the assistant must not handle alone: someone in danger, violence, thoughts of
suicide. The gateway answers these itself, before Rasa: the emergency number at once, and
the conversation goes to the coordinator. A false alarm costs a person a moment with a
human; a missed one could cost far more, so the words are broad and matched inside words
("väkivallan", "насильства")."""

from __future__ import annotations

import re
import unicodedata

# Word stems in the four languages; a message with any of them is urgent.
_URGENT_STEMS = (
    # Swedish
    "självmord", "ta livet av mig", "vill inte leva", "våld", "misshand", "slår mig",
    "hotar mig", "hotad", "i fara", "våldt",
    # Finnish
    "itsemurh", "tappaa itseni", "en halua elää", "väkival", "lyö minua", "lyövät minua",
    "uhkail", "hädässä", "vaarassa", "raiskat",
    # Ukrainian (and the Russian many also write)
    "самогуб", "вбити себе", "не хочу жити", "насильств", "б'є мене", "бʼє мене", "б’є мене",
    "погрожу", "в небезпеці", "зґвалту", "самоубий", "убить себя", "насили", "бьет меня",
    "угрожа",
)  # fmt: skip
# English words are matched from the start of a word only ("rape", not "grapes").
_URGENT_WORDS_EN = (
    "suicid", "kill myself", "want to die", "violence", "violent", "abuse", "beats me",
    "hits me", "threaten", "in danger", "rape",
)  # fmt: skip
_PATTERN = re.compile(
    "|".join(
        [re.escape(stem) for stem in _URGENT_STEMS]
        + [r"\b" + re.escape(word) for word in _URGENT_WORDS_EN]
    )
)


def is_urgent(text: str) -> bool:
    folded = unicodedata.normalize("NFC", text).casefold()
    return _PATTERN.search(folded) is not None
