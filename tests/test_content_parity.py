"""An answer states the same facts in every language, and only what the programme says.

The authority is the municipality's integration programme (`programme-facts.md` and the
Swedish programme text in ../shared/reference/). Each table below is one kind of check; a
row names the facts in each language's own words, so a translation that drops a fact, adds
one, or slides back into an old wording fails here with the response and language named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from bot.language import SUPPORTED_LANGUAGES
from bot.nlg.content import ContentCatalog, load_catalog
from bot.nlg.markup import plain
from bot.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "data" / "content"


def _in_every_language(pattern: str) -> dict[str, str]:
    return dict.fromkeys(SUPPORTED_LANGUAGES, pattern)


# Facts that, when one language states them in an answer, every language must state.
# One regular expression per language (case-insensitive, searched in the answer's text).
FACTS: dict[str, dict[str, str]] = {
    "interpreter": {"sv": r"\btolk", "fi": r"tulk", "uk": r"перекладач", "en": r"interpret"},
    "language test": {
        "sv": r"språktest",
        "fi": r"kielitest",
        "uk": r"мовн\w* тест",
        "en": r"language test",
    },
    "employment area": {
        "sv": r"sysselsättningsområde",
        "fi": r"työllisyysalue",
        "uk": r"служб\w* зайнятості|työllisyysalue",
        "en": r"employment area",
    },
    "welfare area": {
        "sv": r"välfärdsområde",
        "fi": r"hyvinvointialue",
        "uk": r"зон\w* добробуту|hyvinvointialue",
        "en": r"welfare area",
    },
    "social worker or nurse": {
        "sv": r"socialarbetare",
        "fi": r"sosiaalityöntekijä",
        "uk": r"соціальн\w* працівник",
        "en": r"social worker",
    },
    "multisectoral": {
        "sv": r"sektorsövergripande",
        "fi": r"monialai",
        "uk": r"monialai",
        "en": r"multisectoral",
    },
    "unemployed": {
        "sv": r"arbetslös",
        "fi": r"työtön|työttöm",
        "uk": r"безробітн",
        "en": r"unemployed",
    },
    "outside the labour force": {
        "sv": r"utanför arbetskraften",
        "fi": r"työvoiman ulkopuolella",
        "uk": r"не працюєте і не шукаєте роботу",
        "en": r"outside the labour force",
    },
    "assessment": {"sv": r"bedömning", "fi": r"arvio", "uk": r"оцін", "en": r"assessment"},
    "integration plan": {
        "sv": r"plan",
        "fi": r"suunnitelm",
        "uk": r"\bплан",
        "en": r"\bplan\b",
    },
    "civic orientation": {
        "sv": r"samhällsorientering",
        "fi": r"orientaatio",
        "uk": r"курс\w* про життя|yhteiskuntaorientaatio",
        "en": r"civic orientation",
    },
    "integration training": {
        "sv": r"integrationsutbildning",
        "fi": r"kotoutumiskoulutu",
        "uk": r"інтеграційн\w* навчанн|kotoutumiskoulutus",
        "en": r"integration training",
    },
    "Swedish or Finnish": {
        "sv": r"svenska eller finska",
        "fi": r"suomea tai ruotsia|suomen tai ruotsin",
        "uk": r"шведськ\w* (або|чи) фінськ",
        "en": r"Swedish or Finnish",
    },
    "mother tongue": {
        "sv": r"modersmål",
        "fi": r"äidinkiel",
        "uk": r"рідн\w* мов",
        "en": r"mother tongue",
    },
    "old name of the assessment": _in_every_language(r"alkukartoitus"),
    "liberal adult education": {
        "sv": r"fria bildningen",
        "fi": r"vapaa\w* sivistystyö",
        "uk": r"vapaa sivistystyö",
        "en": r"liberal adult education",
    },
    "not a degree": {"sv": r"examen", "fi": r"tutkin", "uk": r"диплом", "en": r"degree"},
    "adult education centre": {
        "sv": r"medborgarinstitut",
        "fi": r"kansalaisopist",
        "uk": r"kansalaisopist",
        "en": r"adult education centre",
    },
    "local associations": {
        "sv": r"förening",
        "fi": r"yhdisty",
        "uk": r"товариств",
        "en": r"association",
    },
    "regional business services": {
        "sv": r"näringslivstjänst",
        "fi": r"yrityspalvelu",
        "uk": r"підприєм",
        "en": r"business services",
    },
    "low threshold": {
        "sv": r"låg tröskel",
        "fi": r"matalan kynnyksen",
        "uk": r"низькопорог",
        "en": r"low-threshold",
    },
    "purchased service": {
        "sv": r"köptjänst",
        "fi": r"ostopalvelu",
        "uk": r"купує",
        "en": r"purchased service",
    },
    "Welcome office": _in_every_language(r"welcome office"),
    "emergency number": _in_every_language(r"\b112\b"),
}


@dataclass(frozen=True)
class Rule:
    """What the programme says, for the answers that must say it.

    Each language's expressions must all match within one sentence of each named answer.
    """

    programme: str
    responses: tuple[str, ...]
    sentence: dict[str, tuple[str, ...]]


SERVICE_ANSWERS_NEEDING_A_PLAN = (
    "utter_integration_plan",
    "utter_civic_orientation",
    "utter_integration_training",
    "utter_language_courses",
)

RULES = [
    Rule(
        "§3 and §4: an integration plan must be made before orientation and training can start",
        SERVICE_ANSWERS_NEEDING_A_PLAN,
        {
            "sv": (r"integrationsplan", r"innan"),
            "fi": (r"kotoutumissuunnitelm", r"ennen kuin"),
            "uk": (r"план інтеграції", r"спочатку"),
            "en": (r"integration plan", r"before"),
        },
    ),
    Rule(
        "§4: the municipality offers only integration training that includes a language test",
        ("utter_integration_training",),
        {
            "sv": (r"kommunen erbjuder bara", r"språktest"),
            "fi": (r"kunta tarjoaa vain", r"kielitest"),
            "uk": (r"муніципалітет пропонує тільки", r"мовний тест"),
            "en": (r"municipality only offers", r"language test"),
        },
    ),
    Rule(
        "§4: integration training ends with a final assessment of language skills",
        ("utter_integration_training", "utter_language_courses"),
        {
            "sv": (r"slut", r"språktest"),
            "fi": (r"lopussa", r"kielitest"),
            "uk": (r"наприкінці", r"тест"),
            "en": (r"end", r"language test"),
        },
    ),
    Rule(
        "§4: the employment area arranges integration training for job seekers (arbetssökande)",
        ("utter_integration_training",),
        {
            "sv": (r"anmäld som arbetssökande", r"sysselsättningsområdet"),
            "fi": (r"ilmoittautunut työnhakijaksi", r"työllisyysalue"),
            "uk": (r"зареєстровані як шукач роботи", r"служба зайнятості"),
            "en": (r"registered as a job seeker", r"employment area"),
        },
    ),
    Rule(
        "§3: the municipality may offer orientation to students and employed people when "
        "there is a need and the person wants it",
        (
            "utter_civic_orientation",
            "utter_responsibility_municipality",
            "utter_responsibility_multisectoral",
        ),
        {
            "sv": (r"kan (kommunen )?också erbjuda", r"stud", r"arbet", r"behov", r"vill"),
            "fi": (r"voi tarjota", r"opiskel", r"töissä", r"tarve|tarvetta", r"halu"),
            "uk": (r"може запропонувати", r"студент|навчаєтеся", r"працю", r"потреба", r"хоч"),
            "en": (r"can also offer", r"stud", r"work", r"need", r"want"),
        },
    ),
    Rule(
        "§1-2: a social worker or a public health nurse takes part when needed",
        ("utter_service_assessment", "utter_responsibility_multisectoral"),
        {
            "sv": (r"vid behov", r"socialarbetare", r"hälsovårdare"),
            "fi": (r"tarvittaessa", r"sosiaalityöntekijä", r"terveydenhoitaja"),
            "uk": (r"за потреби", r"соціальн\w* працівник", r"медсестр"),
            "en": (r"when needed", r"social worker", r"nurse"),
        },
    ),
    Rule(
        "§5: the municipality arranges leisure events together with local associations",
        ("utter_leisure", "utter_language_courses"),
        {
            "sv": (r"kommunen", r"förening"),
            "fi": (r"kunta", r"yhdisty"),
            "uk": (r"муніципалітет", r"товариств"),
            "en": (r"municipality", r"association"),
        },
    ),
    Rule(
        "§5: the municipality can offer voluntary language courses of the adult education centre",
        ("utter_language_courses",),
        {
            "sv": (r"kommunen kan erbjuda",),
            "fi": (r"kunta voi tarjota",),
            "uk": (r"муніципалітет може",),
            "en": (r"municipality can offer",),
        },
    ),
    Rule(
        "§5: liberal adult education is adult education that leads to no degree",
        ("utter_language_courses",),
        {
            "sv": (r"inte", r"examen"),
            "fi": (r"eivät", r"tutkin"),
            "uk": (r"не дають", r"диплом"),
            "en": (r"not", r"degree"),
        },
    ),
    Rule(
        "§6: an interpreter interprets the conversation (what an interpreter does)",
        ("utter_interpreter",),
        {
            "sv": (r"tolk", r"tolkar"),
            "fi": (r"tulkki", r"tulkkaa"),
            "uk": (r"перекладач", r"перекладає розмову усно"),
            "en": (r"interpreter", r"interprets"),
        },
    ),
]


@dataclass(frozen=True)
class Forbidden:
    """A wording no answer may use in any language: a claim the programme does not make,
    an old or wrong term. Searched in texts and button titles with placeholders removed."""

    why: str
    pattern: str
    example: str  # the wording the check was written against, as it once stood
    responses: tuple[str, ...] = ()  # empty: every response


FORBIDDEN = [
    Forbidden(
        "the programme says only that an interpreter is arranged when needed, not its price",
        r"gratis|avgiftsfri|kostnadsfri|maksuto|ilmainen|ilmaiseksi|безкоштовн|безоплатн"
        r"|free of charge|for free|no cost",
        "Behöver du en tolk på mötet? Tolken är gratis för dig.",
    ),
    Forbidden(
        "role titles come from {coordinator_title}, which the municipality sets",
        r"handledar|koordinator|koordinaattor|coordinator|радник|координатор",
        "Keskustele koordinaattorin kanssa",
    ),
    Forbidden(
        "the employment area arranges integration training for every job seeker",
        r"arbetslös|työtön|työttöm|безробітн|unemployed",
        "Для безробітних, які шукають роботу (työtön työnhakija): служба зайнятості",
        ("utter_integration_training",),
    ),
    Forbidden(
        "leisure events are the municipality's, not something the programme arranges",
        r"integrationsprogrammet (också )?ordnar(?! kommunen)|kotoutumisohjelma (myös )?järjestää"
        r"|програма інтеграції (також )?(пропонує|організовує)|programme (also )?arranges",
        "The integration programme also arranges leisure events together with local associations.",
    ),
    Forbidden(
        "the assessment's Finnish name is 'osaamisen ja kotoutumisen palvelutarpeen arviointi'",
        r"(?<!kotoutumisen )palvelutarpeen arvioin",
        "оцінка потреб (osaamisen ja palvelutarpeen arviointi)",
    ),
    Forbidden(
        "the Ukrainian term is 'план інтеграції'", r"інтеграційн\w* план", "Мій інтеграційний план"
    ),
    Forbidden(
        "the Swedish service is 'vägledning och rådgivning'",
        r"handledning",
        "Handledning och rådgivning",
    ),
    Forbidden(
        "an interpreter interprets ('tolkar', 'tulkkaa'), a translator translates",
        r"tolk[^.]*översätt|översätt[^.]*tolk|tulk[^.]*kääntä|kääntä[^.]*tulk"
        r"|interpreter[^.]*translat",
        "Tulkki kääntää keskustelun kielelle, jota ymmärrät.",
    ),
    Forbidden(
        "vapaa sivistystyö is non-degree adult education, not voluntary study",
        r"vapaaehtoi\w* opiskelu|voluntary stud",
        "Vapaa sivistystyö tarkoittaa vapaaehtoista opiskelua aikuisille.",
    ),
    Forbidden(
        "a coordinator who arranges orientation is not in the programme (§3: the municipality)",
        r"це теж робить|that is also done by",
        "Це теж робить {coordinator_title}.",
        ("utter_responsibility_municipality", "utter_responsibility_multisectoral"),
    ),
]

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://([^/\s]+)")
# The shape the booking form accepts as a phone number (actions/booking.py).
PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


@pytest.fixture(scope="module")
def catalog() -> ContentCatalog:
    return load_catalog(CONTENT)


def _text(catalog: ContentCatalog, name: str, language: str) -> str:
    # As the person reads it: the marks (a first screen, a term's language) gone.
    return PLACEHOLDER.sub("", plain(catalog.variants(name, language)[0].text))


def _everything_shown(catalog: ContentCatalog, name: str, language: str) -> str:
    variant = catalog.variants(name, language)[0]
    shown = "\n".join([plain(variant.text), *(button.title for button in variant.buttons)])
    return PLACEHOLDER.sub("", shown)


def _sentences(text: str) -> list[str]:
    return [part for part in SENTENCE_END.split(text) if part.strip()]


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_a_fact_is_in_every_language_or_in_none(catalog: ContentCatalog, fact: str) -> None:
    differing = {}
    for name in sorted(catalog.names("sv")):
        stating = {
            language
            for language in SUPPORTED_LANGUAGES
            if re.search(FACTS[fact][language], _text(catalog, name, language), re.I)
        }
        if stating and stating != set(SUPPORTED_LANGUAGES):
            differing[name] = sorted(stating)
    assert not differing, f"{fact!r} is stated only in: {differing}"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.programme[:60])
def test_answers_say_what_the_programme_says(catalog: ContentCatalog, rule: Rule) -> None:
    missing = []
    for name in rule.responses:
        for language in SUPPORTED_LANGUAGES:
            patterns = rule.sentence[language]
            if not any(
                all(re.search(pattern, sentence, re.I) for pattern in patterns)
                for sentence in _sentences(_text(catalog, name, language))
            ):
                missing.append(f"{name} in {language}")
    assert not missing, f"{rule.programme}: missing in {missing}"


@pytest.mark.parametrize("forbidden", FORBIDDEN, ids=lambda forbidden: forbidden.why[:60])
def test_no_answer_uses_a_wrong_claim_or_term(
    catalog: ContentCatalog, forbidden: Forbidden
) -> None:
    found = []
    for language in SUPPORTED_LANGUAGES:
        for name in forbidden.responses or sorted(catalog.names(language)):
            shown = _everything_shown(catalog, name, language)
            match = re.search(forbidden.pattern, shown, re.I)
            if match:
                found.append(f"{name} in {language}: {match.group(0)!r}")
    assert not found, f"{forbidden.why}: {found}"


def test_example_contacts_in_answers_cannot_reach_anyone(catalog: ContentCatalog) -> None:
    real = []
    for language in SUPPORTED_LANGUAGES:
        for name in sorted(catalog.names(language)):
            shown = _everything_shown(catalog, name, language)
            real += [f"{name}: {e}" for e in EMAIL.findall(shown) if not e.endswith(".invalid")]
            real += [f"{name}: {u}" for u in URL.findall(shown) if not u.endswith(".invalid")]
            for phone in PHONE.findall(shown):
                digits = re.sub(r"\D", "", phone)
                # A date or a code ("3.12.", "123-456") is shorter than a phone number.
                if len(digits) >= 8 and not digits.endswith("0000000"):
                    real.append(f"{name}: {phone}")
    assert not real, f"use .invalid addresses and all-zero numbers in examples: {real}"


@pytest.mark.parametrize("forbidden", FORBIDDEN, ids=lambda forbidden: forbidden.why[:60])
def test_each_wrong_wording_is_recognised(forbidden: Forbidden) -> None:
    """The checks above can fail: each finds the wording it was written against."""
    assert re.search(forbidden.pattern, PLACEHOLDER.sub("", forbidden.example), re.I)


def test_sentences_end_at_a_full_stop_or_a_line_break() -> None:
    assert _sentences("Yes. No: maybe\nLast") == ["Yes.", "No: maybe", "Last"]
