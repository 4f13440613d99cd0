"""The audit log: every read or change of a case, by whom."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.db.models import AuditEntry, utcnow


def record(
    session: Session, *, actor: str, case_id: int | None, action: str, detail: str | None = None
) -> None:
    session.add(AuditEntry(at=utcnow(), actor=actor, case_id=case_id, action=action, detail=detail))
