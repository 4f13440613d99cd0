"""The real three processes on free ports: Rasa, the action server and the app.

Needs the trained model in models/ (`make test` trains it before pytest runs).
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from bot.nlg.render import render_response
from tests.support.factories import new_case
from tests.support.running import Person, is_cyrillic, payloads, texts
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("language", "greeting", "question", "marker"),
    [
        ("uk", "Привіт!", "Як мені отримати план інтеграції?", "план інтеграції"),
        ("sv", "Hej!", "Hur får jag en integrationsplan?", "integrationsplan"),
        ("fi", "Hei!", "Miten saan kotoutumissuunnitelman?", "kotoutumissuunnitelma"),
        ("en", "Hello!", "How do I get an integration plan?", "integration plan"),
    ],
)
def test_a_conversation_in_each_language(
    system: RunningSystem, language: str, greeting: str, question: str, marker: str
) -> None:
    person = Person(system, language)
    hello = person.say(greeting)
    assert hello["language"] == language
    assert "/ask_integration_plan" in payloads(hello)
    assert is_cyrillic(texts(hello)) == (language == "uk")

    answer = person.say(question)
    assert marker in texts(answer).lower()
    assert is_cyrillic(texts(answer)) == (language == "uk")

    # The same topic through the button the greeting offered.
    pressed = person.press("/ask_integration_plan")
    assert texts(pressed) == texts(answer)


def test_changing_the_language_mid_conversation(system: RunningSystem) -> None:
    person = Person(system, "sv")
    menu = person.say("Jag vill byta språk")
    assert '/choose_language{"language": "uk"}' in payloads(menu)
    changed = person.press('/choose_language{"language": "uk"}')
    assert changed["language"] == "uk"
    assert is_cyrillic(texts(changed))
    plan = person.say("what is the integration plan?")  # chosen: detection does not switch back
    assert plan["language"] == "uk" and is_cyrillic(texts(plan))
    english = person.say("Can you speak English please?")
    assert english["language"] == "en"
    assert not is_cyrillic(texts(english))


def test_a_translated_language_through_the_real_assistant(system: RunningSystem) -> None:
    """Russian (test packages installed, see tests/support/running.py) through the menu: Rasa,
    the actions and the NLG endpoint work in English; the person reads Russian."""
    notice = render_response("utter_machine_translated_answer", "en", "example").text
    person = Person(system, "sv")
    menu = person.say("Jag vill byta språk")
    assert '/choose_language{"language": "ru"}' in payloads(menu)
    assert '/choose_language{"language": "ar"}' not in payloads(menu)  # no package

    changed = person.press('/choose_language{"language": "ru"}')
    assert changed["language"] == "ru"
    assert texts(changed).endswith(notice)
    assert {"/ask_integration_plan", "/request_human"} <= set(payloads(changed))

    plan = person.press("/ask_integration_plan")
    assert plan["language"] == "ru" and texts(plan).endswith(notice)
    typed = person.say("Здравствуйте, как получить план интеграции?")
    assert typed["language"] == "ru" and texts(typed).endswith(notice)

    engine = create_engine(system.database_url)
    with engine.connect() as connection:
        originals = connection.execute(
            sql(
                "SELECT original_language, original_text FROM message "
                "WHERE conversation_id = :id AND original_text IS NOT NULL ORDER BY id"
            ),
            {"id": person.id},
        ).all()
        understood = connection.execute(
            sql(
                "SELECT t.language FROM message_translation t JOIN message m "
                "ON m.id = t.message_id WHERE m.conversation_id = :id"
            ),
            {"id": person.id},
        ).all()
    engine.dispose()
    # Every answer since the choice keeps its English original; the typed message its
    # English translation (what Rasa read).
    assert len(originals) >= 3 and {row[0] for row in originals} == {"en"}
    plan_in_english = render_response("utter_integration_plan", "en", "example").text
    assert any(row[1] == plan_in_english for row in originals)
    assert understood == [("en",)]


def test_the_language_is_detected_when_not_given(system: RunningSystem) -> None:
    person = Person(system, None)
    reply = person.say("Hyvää päivää! Miten saan kotoutumissuunnitelman?")
    assert reply["language"] == "fi"
    assert "kotoutumissuunnitelma" in texts(reply).lower()


def test_out_of_scope_and_not_understood(system: RunningSystem) -> None:
    person = Person(system, "en")
    off_topic = person.say("Can you tell me a joke about football?")
    assert "cannot help with that" in texts(off_topic)
    gibberish = person.say("qwzx plorf vvvtt")
    assert "did not understand" in texts(gibberish)
    assert "+358 00 000 0000" not in texts(gibberish)
    again = person.say("vvvtt qwzx plorf")
    # The second failure in a row hands the conversation to the coordinator, and the
    # assistant is silent until it comes back.
    assert "passing this conversation" in texts(again)
    assert again["state"] == "waiting"
    assert person.say("hello?")["messages"] == []
    back = person.press("/lotsen_return_to_assistant")
    assert back["state"] == "bot" and "back with the assistant" in texts(back)
    assert "integration plan" in texts(person.say("What is the integration plan?"))


def test_responsibility_triage_asks_only_what_is_needed(system: RunningSystem) -> None:
    job_seeker = Person(system, "en")
    question = job_seeker.say("Who is responsible for me?")
    assert payloads(question) == ["/affirm", "/deny"]
    answer = job_seeker.press("/affirm")
    assert "employment area" in texts(answer)
    assert "/affirm" not in payloads(answer)

    at_home = Person(system, "sv")
    at_home.say("Vem ansvarar för mig?")
    second = at_home.press("/deny")
    assert payloads(second) == ["/affirm", "/deny"]
    assert texts(second) != texts(question)
    municipality = at_home.press("/deny")
    assert "integrationshandledaren" in texts(municipality)


def test_injected_intent_syntax_is_read_as_text(system: RunningSystem) -> None:
    person = Person(system, "en")
    reply = person.say('/choose_language{"language": "fi"}')
    assert reply["language"] == "en"


def test_conversation_survives_a_rasa_restart(system: RunningSystem) -> None:
    person = Person(system, "uk")
    person.say("Привіт!")
    system.stop_process("rasa")
    down = person.say("Що таке план інтеграції?")
    assert is_cyrillic(texts(down))
    assert "/ask_integration_plan" not in payloads(down)
    # The replica stays in a load balancer's rotation: it stores and answers politely.
    readiness = httpx.get(f"{system.app_url}/readyz", timeout=10)
    assert readiness.status_code == 200
    assert readiness.json()["checks"]["rasa"] != "ok"
    assert readiness.json()["degraded"] is True

    system.start_process("rasa")
    system.wait_until_ready(timeout=240)
    back = person.say("Що таке план інтеграції?")
    assert "план інтеграції" in texts(back).lower()
    # The tracker store kept the conversation: Rasa still knows the first greeting.
    tracker = httpx.get(
        f"{system.rasa_url}/conversations/{person.id}/tracker",
        params={"token": system.rasa_token},
        timeout=10,
    ).json()
    user_texts = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    assert user_texts[0] == "Привіт!"


def test_bad_input_gets_an_answer_in_the_conversation_language(system: RunningSystem) -> None:
    # Each in a new conversation: two misunderstandings in a row hand the conversation over.
    for text in [
        "🙂🙂🙂",
        "Guten Tag, wo finde ich einen Sprachkurs für Erwachsene?",
        "asdf jkl qwer",
    ]:
        reply = Person(system, "uk").say(text)
        assert reply["language"] == "uk"
        assert reply["messages"] and all(is_cyrillic(m["text"]) for m in reply["messages"])
    several = Person(system, "uk").say(
        "Доброго дня! Я приїхала з дітьми пів року тому. Розкажіть, будь ласка, що таке "
        "інтеграційне навчання і коли я можу його почати? А ще де шукати дитячий садок "
        "для молодшої доньки, і чи можна отримати перекладача на зустріч з радником? "
        "Дякую заздалегідь за відповідь, бо я дуже плутаюся в усіх цих службах."
    )
    assert len(several["messages"]) >= 2
    assert all(is_cyrillic(m["text"]) for m in several["messages"])


def new_case_with_code(system: RunningSystem, language: str) -> tuple[str, str]:
    from sqlalchemy.orm import Session

    from bot.cases.linking import format_code, issue_code
    from bot.db import make_engine
    from bot.db.models import utcnow

    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        case = new_case(session, full_name="Example Person", language=language)
        code = issue_code(session, case.id, system.link_code_secret, utcnow())
        number = case.case_number
    engine.dispose()
    return number, format_code(code)


@pytest.mark.parametrize(
    ("language", "link_text", "status_question"),
    [
        ("uk", "мій код {code}", "Чи вже зроблено мій план інтеграції?"),
        ("sv", "min kod är {code}", "Hur långt har mitt ärende kommit?"),
        ("fi", "mun koodi on {code}", "Onko mun kotoutumissuunnitelma jo tehty?"),
        ("en", "my code is {code}", "Has my integration plan been made?"),
    ],
)
def test_link_the_chat_and_ask_where_i_stand(
    system: RunningSystem, language: str, link_text: str, status_question: str
) -> None:
    case_number, code = new_case_with_code(system, language)
    person = Person(system, language)
    before = person.say(status_question)
    assert case_number not in texts(before)
    linked = person.say(link_text.format(code=code))
    assert "/my_case_status" in payloads(linked)
    status = person.say(status_question)
    assert case_number in texts(status)
    assert is_cyrillic(texts(status)) == (language == "uk")

    # The same code does not work twice, and says nothing about why.
    other = Person(system, language)
    reused = other.say(link_text.format(code=code))
    assert "/my_case_status" not in payloads(reused)
    assert case_number not in texts(other.say(status_question))


def test_typed_intent_with_a_case_id_reads_nothing(system: RunningSystem) -> None:
    case_number, _ = new_case_with_code(system, "en")
    person = Person(system, "en")
    reply = person.say('/my_case_status{"case_id": 1}')
    assert case_number not in texts(reply)
    # No case number of any year: the case's own, never one read off the calendar.
    assert re.search(r"\b\d{4}-\d{4}\b", texts(reply)) is None


def test_rasa_and_the_action_server_refuse_callers_without_the_secret(
    system: RunningSystem,
) -> None:
    """Another process on the host cannot speak for a person through Rasa's REST channel,
    nor run an action for any tracker it likes."""
    message = {"sender": "someone-elses-conversation", "message": "/my_case_status"}
    webhook = f"{system.rasa_url}/webhooks/rest/webhook"
    assert httpx.post(webhook, json=message, timeout=30).status_code == 403
    wrong = {"X-Lotsen-Channel-Secret": "guessed"}
    assert httpx.post(webhook, json=message, headers=wrong, timeout=30).status_code == 403
    right = {"X-Lotsen-Channel-Secret": system.rasa_channel_secret}
    assert httpx.post(webhook, json=message, headers=right, timeout=60).status_code == 200

    actions = f"http://127.0.0.1:{system.action_port}/webhook"
    call = {
        "next_action": "action_case_status",
        "sender_id": "someone-elses-conversation",
        "tracker": {"sender_id": "someone-elses-conversation", "slots": {}, "events": []},
        "domain": {},
    }
    assert httpx.post(actions, json=call, timeout=30).status_code == 403
    headers = {"X-Lotsen-Action-Secret": "guessed"}
    assert httpx.post(actions, json=call, headers=headers, timeout=30).status_code == 403
    assert httpx.get(f"http://127.0.0.1:{system.action_port}/health").status_code == 200
