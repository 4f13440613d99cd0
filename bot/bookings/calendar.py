"""The coordinator's bookings as an iCalendar feed (RFC 5545) behind a secret URL, so any
calendar program can subscribe: `GET /calendar/<token>.ics`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.bookings.admin import coordinator_of_calendar_token
from bot.bookings.service import BookingView, bookings_of_coordinator
from bot.db import get_sessionmaker
from bot.db.models import BookingStatus, utcnow
from bot.settings import get_settings

FEED_PAST = timedelta(days=30)
_PURPOSES = {
    "assessment": (
        "Osaamisen ja kotoutumisen palvelutarpeen arviointi / "
        "Bedömning av kompetens och behovet av integrationstjänster"
    ),
    "plan": "Kotoutumissuunnitelma / Integrationsplan",
    "guidance": "Ohjaus ja neuvonta / Vägledning och rådgivning",
    "other": "Muu asia / Annat ärende",
}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _event(booking: BookingView, case_number: str | None, host: str, now: datetime) -> list[str]:
    details = booking.details
    who = details.contact_name or (f"case {case_number}" if case_number else "")
    description = [
        _PURPOSES.get(details.purpose.value, details.purpose.value),
        f"Language / Språk / Kieli: {details.meeting_language}",
        f"Interpreter / Tolk / Tulkki: {details.interpreter_language or '-'}",
    ]
    if case_number:
        description.append(f"Case / Ärende / Asia: {case_number}")
    if details.contact_name:
        description.append(f"Name / Namn / Nimi: {details.contact_name}")
    if details.contact:
        description.append(f"Contact / Kontakt / Yhteystieto: {details.contact}")
    description.append(f"Channel / Kanal / Kanava: {booking.channel} ({booking.language})")
    location = booking.slot.location or booking.slot.kind
    lines = [
        "BEGIN:VEVENT",
        f"UID:booking-{booking.id}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(booking.slot.starts_at)}",
        f"DTEND:{_stamp(booking.slot.ends_at)}",
        f"SUMMARY:{_escape(f'Lotsen: {details.purpose.value} {who}'.strip())}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(chr(10).join(description))}",
        "STATUS:" + ("CONFIRMED" if booking.status == BookingStatus.BOOKED else "CANCELLED"),
        "END:VEVENT",
    ]
    return lines


def calendar_text(
    bookings: list[tuple[BookingView, str | None]], name: str, host: str, now: datetime
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Lotsen//Bookings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for booking, case_number in bookings:
        lines += _event(booking, case_number, host, now)
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _feed(sessions: sessionmaker[Session], token: str, host: str) -> str | None:
    now = utcnow()
    with sessions.begin() as session:
        coordinator = coordinator_of_calendar_token(session, token)
        if coordinator is None:
            return None
        bookings = bookings_of_coordinator(session, coordinator.id, now - FEED_PAST)
        return calendar_text(bookings, f"Lotsen: {coordinator.display_name}", host, now)


async def calendar_feed(request: Request) -> Response:
    token = str(request.path_params["token"])
    host = get_settings().lotsen_public_url.split("://", 1)[-1].split("/", 1)[0]
    text = await asyncio.to_thread(_feed, get_sessionmaker(), token, host)
    if text is None:
        return PlainTextResponse("Not found", status_code=404)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=60", "Referrer-Policy": "no-referrer"},
    )
