"""Machine translation in the coordinator app through HTTP, on real (tiny, random) Argos
packages: the person's messages shown with a translation made once and stored, the reply
previewed and sent as the person receives it with what the coordinator wrote stored too,
the assistant's texts sent on the coordinator's behalf, and everything without packages.

The packages' output is nonsense, so these tests assert where texts go and what is stored
and marked, never the words of a translation.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot import runtime
from bot.bookings.service import BookingDetails, book
from bot.coordinator import translation as coordinator_translation
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    BookingPurpose,
    Conversation,
    Coordinator,
    Message,
    MessageTranslation,
    utcnow,
)
from bot.nlg.render import render_response
from bot.translation import service as translation_service
from bot.translation.service import Translation
from tests.support.argos_package import install_packages
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user

pytest.importorskip("ctranslate2", reason="the optional extra 'translation' is not installed")

# As the running system has them: Ukrainian and Swedish reach each other through English,
# Russian (a translated language) has packages both ways; Finnish too. Arabic has none.
PAIRS = (
    ("uk", "en"),
    ("en", "uk"),
    ("sv", "en"),
    ("en", "sv"),
    ("fi", "en"),
    ("en", "fi"),
    ("ru", "en"),
    ("en", "ru"),
)
NO_TRANSLATION = "Ingen maskinöversättning finns för det här språket."


@pytest.fixture(scope="module")
def packages_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("coordinator-argos") / "packages"
    install_packages(target, PAIRS)
    return target


def use_packages(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Iterator[None]:
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(directory))
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def with_packages(
    packages_dir: Path, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    yield from use_packages(monkeypatch, packages_dir)


@pytest.fixture
def without_packages(
    tmp_path: Path, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    yield from use_packages(monkeypatch, tmp_path / "no-packages")


@pytest.fixture
def app(with_packages: None, client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = handoff_reply
    return client


@pytest.fixture
def bare_app(without_packages: None, client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = handoff_reply
    return client


class Person:
    """A person talking to the gateway's API, handed over to a person."""

    def __init__(self, client: TestClient, language: str) -> None:
        self.client = client
        created = client.post(
            "/api/v1/conversations", json={"language": "uk", "municipality": "example"}
        ).json()
        self.id: str = created["conversation_id"]
        self.headers = {"Authorization": f"Bearer {created['token']}"}
        if language != "uk":
            # The API starts conversations in the four languages; the gateway switches to a
            # translated one when the person writes in it.
            with get_sessionmaker().begin() as session:
                conversation = session.get(Conversation, self.id)
                assert conversation is not None
                conversation.language = language
        # The widget's "talk to a person" button: stored in the conversation's language.
        asked = client.post(
            f"/api/v1/conversations/{self.id}/messages",
            json={"command": "request_human"},
            headers=self.headers,
        )
        assert asked.json()["state"] == "waiting", asked.text

    def say(self, text: str) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/conversations/{self.id}/messages", json={"text": text}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def received(self) -> list[dict[str, Any]]:
        seen = self.client.get(f"/api/v1/conversations/{self.id}/messages", headers=self.headers)
        messages: list[dict[str, Any]] = seen.json()["messages"]
        return messages


def taken(client: TestClient, language: str, coordinator: str = "sv") -> tuple[Person, str]:
    """A person in `language` whose conversation Anna (writing `coordinator`) has taken;
    her CSRF token."""
    user("anna")
    if coordinator != "sv":
        with get_sessionmaker().begin() as session:
            anna = session.scalar(select(Coordinator).where(Coordinator.username == "anna"))
            assert anna is not None
            anna.language = coordinator
    sign_in(client, "anna")
    person = Person(client, language)
    token = csrf(client.get("/coordinator/").text)
    response = client.post(
        f"/coordinator/conversations/{person.id}/take", data={"csrf_token": token}
    )
    assert response.status_code == 200
    return person, token


def message_item(page: str, message_id: int) -> str:
    found = re.search(rf'<li class="msg [a-z]+" data-message="{message_id}">(.*?)</li>', page, re.S)
    assert found, page
    return found.group(1)


def person_messages(conversation_id: str) -> list[Message]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.sender == "user")
                .order_by(Message.id)
            )
        )


def last_message(conversation_id: str) -> Message:
    with get_sessionmaker()() as session:
        found = session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        assert found is not None
        return found


def stored_translations(conversation_id: str) -> dict[int, MessageTranslation]:
    with get_sessionmaker()() as session:
        rows = session.scalars(
            select(MessageTranslation)
            .join(Message, Message.id == MessageTranslation.message_id)
            .where(Message.conversation_id == conversation_id)
        )
        return {row.message_id: row for row in rows}


def count_messages(conversation_id: str) -> int:
    with get_sessionmaker()() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.conversation_id == conversation_id)
            )
            or 0
        )


@pytest.fixture
def translations_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the conversation view sends to the translator."""
    made: list[str] = []
    real = coordinator_translation.translate

    async def counting(text: str, source: str, target: str, **kwargs: Any) -> Translation | None:
        made.append(text)
        return await real(text, source, target, **kwargs)

    monkeypatch.setattr(coordinator_translation, "translate", counting)
    return made


# --- The person's messages ------------------------------------------------------------------


def test_the_person_is_shown_in_the_original_and_translated_once(
    app: TestClient, translations_made: list[str]
) -> None:
    person, _ = taken(app, "uk")
    person.say("Де знайти житло?")

    page = app.get(f"/coordinator/conversations/{person.id}").text
    written = person_messages(person.id)
    stored = stored_translations(person.id)
    assert sorted(stored) == [m.id for m in written]
    assert sorted(translations_made) == sorted(m.text or "" for m in written)
    for message in written:
        item = message_item(page, message.id)
        original = f'<div class="text" lang="uk" dir="auto">{html.escape(message.text or "")}</div>'
        assert original in item
        # Beneath the original, marked: the stored translation (Ukrainian reaches Swedish
        # through English).
        translated = item[item.index(original) :]
        assert '<div class="translation" lang="sv">' in translated
        assert "Maskinöversättning (ukrainska → engelska → svenska)" in translated
        row = stored[message.id]
        assert (row.language, row.pivot) == ("sv", "en")
        assert html.escape(row.text) in translated
    assert 'Personens språk: ukrainska (<span lang="uk">Українська</span>)' in page

    # The live refresh reads the stored translations; only a new message is translated.
    translations_made.clear()
    fragment = app.get(f"/coordinator/conversations/{person.id}/transcript").text
    assert translations_made == []
    assert fragment.count("Maskinöversättning (ukrainska → engelska → svenska)") == len(written)
    person.say("Дякую, чекаю.")
    app.get(f"/coordinator/conversations/{person.id}/transcript")
    assert translations_made == ["Дякую, чекаю."]
    assert len(stored_translations(person.id)) == len(written) + 1


def test_the_queue_shows_the_latest_message_translated_once(
    app: TestClient, translations_made: list[str]
) -> None:
    user("anna")
    sign_in(app, "anna")
    person = Person(app, "uk")
    person.say("Де знайти житло для родини?")
    latest = person_messages(person.id)[-1]

    queue = app.get("/coordinator/").text
    row = re.search(rf'<tr data-conversation="{person.id}"[^>]*>(.*?)</tr>', queue, re.S)
    assert row, queue
    stored = stored_translations(person.id)[latest.id]
    assert stored.language == "sv"
    assert '<span lang="uk" dir="auto">Де знайти житло для родини?</span>' in row.group(1)
    assert f"Maskinöversatt: {html.escape(stored.text[:80])}" in row.group(1)
    assert translations_made == ["Де знайти житло для родини?"]

    # The live queue reads it back; the conversation view too.
    app.get("/coordinator/queue")
    app.get(f"/coordinator/conversations/{person.id}")
    assert translations_made.count("Де знайти житло для родини?") == 1


def test_a_language_without_packages_shows_the_original_with_a_notice(
    app: TestClient, translations_made: list[str]
) -> None:
    person, token = taken(app, "ar")
    person.say("أين أجد سكنا؟")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    item = message_item(page, person_messages(person.id)[-1].id)
    assert '<div class="text" lang="ar" dir="auto">أين أجد سكنا؟</div>' in item
    assert NO_TRANSLATION in item and "Maskinöversättning (" not in item
    assert stored_translations(person.id) == {}
    # Tried again on the next render, as cheap as a look at the installed pairs.
    assert "أين أجد سكنا؟" in translations_made

    # The form says the reply goes out as written, and it does.
    assert "Det finns ingen maskinöversättning till arabiska." in page
    assert 'id="source-language"' not in page
    app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "مرحبا", "source_language": "sv"},
    )
    sent = last_message(person.id)
    assert (sent.text, sent.original_text, sent.language) == ("مرحبا", None, "ar")


def test_a_message_in_the_coordinators_language_is_not_translated(
    app: TestClient, translations_made: list[str]
) -> None:
    person, _ = taken(app, "sv")
    person.say("Var hittar jag en bostad?")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    assert translations_made == [] and stored_translations(person.id) == {}
    assert "Maskinöversättning (" not in page and NO_TRANSLATION not in page
    assert 'id="reply-preview"' not in page and 'id="source-language"' not in page


def test_a_finnish_coordinator_reads_and_writes_in_finnish(app: TestClient) -> None:
    person, token = taken(app, "uk", coordinator="fi")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    item = message_item(page, person_messages(person.id)[-1].id)
    assert "Konekäännös (ukraina → englanti → suomi)" in item
    assert [row.language for row in stored_translations(person.id).values()] == ["fi"]
    assert "Asiakkaan kieli: ukraina" in page
    preview = app.post(
        f"/coordinator/conversations/{person.id}/preview",
        data={"csrf_token": token, "text": "Hei! Autan mielelläni.", "source_language": "fi"},
    )
    assert "konekäännettynä ukrainaksi" in preview.text
    app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Hei! Autan mielelläni.", "source_language": "fi"},
    )
    sent = last_message(person.id)
    assert (sent.original_text, sent.original_language) == ("Hei! Autan mielelläni.", "fi")
    # Swedish is neither Anna's language nor the person's.
    refused = app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Hej", "source_language": "sv"},
    )
    assert refused.status_code == 400


# --- Replying -------------------------------------------------------------------------------


def test_the_preview_is_what_the_person_receives_and_both_texts_are_stored(
    app: TestClient,
) -> None:
    person, token = taken(app, "uk")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    assert '<select id="source-language" name="source_language">' in page
    assert 'data-preview="/coordinator/conversations/' in page

    written = "Hej! Vi ses på tisdag kl. 10.00 på kontoret."
    before = count_messages(person.id)
    preview = app.post(
        f"/coordinator/conversations/{person.id}/preview",
        data={"csrf_token": token, "text": written, "source_language": "sv"},
    )
    assert preview.status_code == 200
    assert "maskinöversatt till ukrainska" in preview.text
    shown = re.search(r'<div class="text" lang="uk" dir="auto">(.*?)</div>', preview.text, re.S)
    assert shown
    assert count_messages(person.id) == before  # a preview sends nothing

    app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": written, "source_language": "sv"},
    )
    sent = last_message(person.id)
    assert (sent.sender, sent.sender_name, sent.language) == ("coordinator", "Anna", "uk")
    assert (sent.original_text, sent.original_language) == (written, "sv")
    assert sent.text == html.unescape(shown.group(1))
    marker = render_response(
        "utter_machine_translation_original", "uk", "example", {"source": "Svenska"}
    ).text
    translated, beneath = (sent.text or "").split(f"\n\n— {marker}\n")
    assert beneath == written and translated and translated != written
    assert "10.00" in translated  # a time survives translation

    received = person.received()[-1]
    assert (received["sender"], received["text"]) == ("coordinator", sent.text)

    # The coordinator reads what they wrote, marked, with what the person got folded away.
    item = message_item(app.get(f"/coordinator/conversations/{person.id}").text, sent.id)
    assert f'<div class="text" lang="sv" dir="auto">{html.escape(written)}</div>' in item
    assert "Skickat som maskinöversättning till ukrainska." in item
    assert "<details" in item and html.escape(sent.text or "") in item


def test_the_preview_without_javascript_keeps_the_draft(app: TestClient) -> None:
    person, token = taken(app, "uk")
    before = count_messages(person.id)
    page = app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={
            "csrf_token": token,
            "text": "Kan du berätta mer?",
            "source_language": "sv",
            "action": "preview",
        },
    )
    assert page.status_code == 200
    assert ">Kan du berätta mer?</textarea>" in page.text
    assert "maskinöversatt till ukrainska" in page.text
    assert "Kan du berätta mer?" in re.sub(r"<textarea.*?</textarea>", "", page.text, flags=re.S)
    assert count_messages(person.id) == before


def test_a_reply_in_the_persons_language_goes_out_as_written(app: TestClient) -> None:
    person, token = taken(app, "uk")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    quick = "Чи можете ви розповісти трохи більше?"
    assert f'data-quick="{quick}" data-language="uk"' in page
    preview = app.post(
        f"/coordinator/conversations/{person.id}/preview",
        data={"csrf_token": token, "text": quick, "source_language": "uk"},
    )
    assert "Personen får texten som du skrev den." in preview.text
    app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": quick, "source_language": "uk"},
    )
    sent = last_message(person.id)
    assert (sent.text, sent.original_text, sent.original_language) == (quick, None, None)


def test_the_source_language_must_be_the_coordinators_or_the_persons(app: TestClient) -> None:
    person, token = taken(app, "uk")
    before = count_messages(person.id)
    for path in ("reply", "preview"):
        refused = app.post(
            f"/coordinator/conversations/{person.id}/{path}",
            data={"csrf_token": token, "text": "Привіт", "source_language": "ru"},
        )
        assert refused.status_code == 400
    assert count_messages(person.id) == before


def test_the_preview_needs_the_csrf_token_and_the_conversation(app: TestClient) -> None:
    person, token = taken(app, "uk")
    path = f"/coordinator/conversations/{person.id}/preview"
    assert app.post(path, data={"text": "Hej", "source_language": "sv"}).status_code == 403
    assert (
        app.post(
            path, data={"csrf_token": "forged", "text": "Hej", "source_language": "sv"}
        ).status_code
        == 403
    )
    assert (
        app.post(
            "/coordinator/conversations/nobody/preview",
            data={"csrf_token": token, "text": "Hej", "source_language": "sv"},
        ).status_code
        == 404
    )


# --- A person in a language reached only by translation --------------------------------------


def test_a_translated_language_gets_the_assistants_texts_translated_with_the_english_kept(
    app: TestClient, fake_rasa: FakeRasa
) -> None:
    person, token = taken(app, "ru")
    take_message = last_message(person.id)
    english = render_response("utter_handoff_taken", "en", "example", {"name": "Anna"}).text
    assert (take_message.original_text, take_message.original_language) == (english, "en")
    assert take_message.language == "ru"
    translated = (take_message.text or "").split("\n\n")[0]
    assert translated != english and "Anna" in translated  # the name is never translated
    item = message_item(app.get(f"/coordinator/conversations/{person.id}").text, take_message.id)
    assert "Skickat som maskinöversättning till ryska." in item

    # Quick replies for Russian are the coordinator's Swedish ones, translated on sending.
    page = app.get(f"/coordinator/conversations/{person.id}").text
    assert 'data-language="sv"' in page and 'data-language="ru"' not in page
    app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Kan du berätta lite mer?", "source_language": "sv"},
    )
    sent = last_message(person.id)
    assert (sent.original_text, sent.original_language, sent.language) == (
        "Kan du berätta lite mer?",
        "sv",
        "ru",
    )

    app.post(f"/coordinator/conversations/{person.id}/handback", data={"csrf_token": token})
    returned = last_message(person.id)
    assert returned.original_language == "en" and returned.sender == "system"
    assert returned.buttons and all(b["payload"].startswith("/") for b in returned.buttons)


def test_a_cancelled_booking_is_told_in_a_translated_language(app: TestClient) -> None:
    person, token = taken(app, "ru")
    with get_sessionmaker().begin() as session:
        anna = session.scalar(select(Coordinator).where(Coordinator.username == "anna"))
        assert anna is not None
        starts = utcnow() + timedelta(days=9)
        slot = AppointmentSlot(
            coordinator_id=anna.id,
            municipality="example",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
            kind="office",
            location="Example street 1",
        )
        session.add(slot)
        session.flush()
        slot_id = slot.id
    booking = book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality="example",
        conversation_id=person.id,
        case_id=None,
        channel="api",
        # What the booking action stores for a translated language: the assistant works in
        # English; the person is told in the conversation's language.
        language="en",
        details=BookingDetails(BookingPurpose.GUIDANCE, "ru", "ru", "Olga", "040 1234567"),
        now=utcnow(),
        actor="test",
    )
    note = "Jag är sjuk i dag."
    app.post(
        f"/coordinator/bookings/{booking.id}/cancel", data={"csrf_token": token, "message": note}
    )
    told = last_message(person.id)
    # The coordinator's note is translated like a reply, its Swedish original beneath,
    # and comes through the English text around it unchanged.
    marker = render_response(
        "utter_machine_translation_original", "en", "example", {"source": "Svenska"}
    ).text
    assert told.text and f"{marker}\n{note}" in told.text
    assert told.original_text and f"{marker}\n{note}" in told.original_text
    assert (told.sender, told.sender_name, told.language) == ("coordinator", "Anna", "ru")
    assert told.original_language == "en" and told.original_text
    assert told.original_text.startswith(
        render_response(
            "utter_booking_cancelled_by_coordinator",
            "en",
            "example",
            {"time": "TIME", "message": ""},
        ).text.split("TIME")[0]
    )
    assert told.text and told.text != told.original_text
    assert told.buttons and told.buttons[0]["payload"] == "/book_appointment"


# --- Without packages, without the extra -----------------------------------------------------


def check_everything_works_untranslated(client: TestClient) -> None:
    person, token = taken(client, "uk")
    person.say("Де знайти житло?")
    page = client.get(f"/coordinator/conversations/{person.id}")
    assert page.status_code == 200
    item = message_item(page.text, person_messages(person.id)[-1].id)
    assert '<div class="text" lang="uk" dir="auto">Де знайти житло?</div>' in item
    assert NO_TRANSLATION in item
    assert "Det finns ingen maskinöversättning till ukrainska." in page.text
    assert 'id="source-language"' not in page.text
    preview = client.post(
        f"/coordinator/conversations/{person.id}/preview",
        data={"csrf_token": token, "text": "Вітаю!", "source_language": "sv"},
    )
    assert preview.status_code == 200 and "Personen får texten som du skrev den." in preview.text
    client.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Вітаю!", "source_language": "sv"},
    )
    sent = last_message(person.id)
    assert (sent.text, sent.original_text) == ("Вітаю!", None)
    assert person.received()[-1]["text"] == "Вітаю!"
    assert stored_translations(person.id) == {}


def test_without_packages_the_originals_are_shown_and_replies_go_as_written(
    bare_app: TestClient,
) -> None:
    check_everything_works_untranslated(bare_app)


def test_without_the_extra_nothing_fails(app: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if argostranslate were not installed, with the packages in place.
    monkeypatch.setattr(translation_service, "import_argos_package", lambda _directory: None)
    runtime.reset()
    assert not translation_service.get_translator().status().extra_installed
    check_everything_works_untranslated(app)


def test_translation_previews_are_limited_per_coordinator(app: TestClient) -> None:
    """Each preview runs the translation models: a script (or a held-down key) gets 429
    after RATE_LIMIT_COORDINATOR_PREVIEWS a minute, and the models stay free for others."""
    # The running app's limiter, lowered from its default of 60 so the test stays quick.
    app.app.state.rate_limits.coordinator_previews.limit = 3
    person, token = taken(app, "uk")
    statuses = [
        app.post(
            f"/coordinator/conversations/{person.id}/preview",
            data={"csrf_token": token, "text": f"Hej {n}", "source_language": "sv"},
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    held = app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Hej", "source_language": "sv", "action": "preview"},
    )
    assert held.status_code == 429 and held.headers["Retry-After"].isdigit()
