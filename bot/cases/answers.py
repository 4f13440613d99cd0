"""Personal answers: a person's own case, in their language, from the content files."""

from __future__ import annotations

from datetime import date

from bot.cases.register import CaseSnapshot
from bot.db.models import CourseState, PlanState
from bot.nlg.content import RenderedMessage
from bot.nlg.render import render_response


def _date(value: date | None) -> str:
    # Finland writes dates day.month.year in Swedish, Finnish and Ukrainian texts alike.
    return f"{value.day}.{value.month}.{value.year}" if value else ""


def status_message(
    case: CaseSnapshot, language: str | None, municipality: str | None
) -> RenderedMessage:
    def line(name: str, **arguments: str) -> str:
        return render_response(name, language, municipality, arguments).text

    intro = render_response(
        "utter_case_status", language, municipality, {"case_number": case.case_number}
    )
    lines = [
        intro.text,
        line(f"case_responsible_{case.responsible_authority}"),
        line(f"case_assessment_{case.assessment_state}", date=_date(case.assessment_date)),
        line(f"case_plan_{case.plan_state}", date=_date(case.plan_date)),
        line(f"case_orientation_{case.orientation_state}"),
        line(f"case_training_{case.training_state}"),
    ]
    if case.next_step:
        lines.append(line("case_next_step", next_step=case.next_step))
    return RenderedMessage(text="\n".join(lines), buttons=intro.buttons, language=intro.language)


def course_message(
    case: CaseSnapshot, course: str, language: str | None, municipality: str | None
) -> RenderedMessage:
    """Whether this person can start civic orientation or integration training now."""
    if case.plan_state != PlanState.DONE:
        return render_response("case_course_needs_plan", language, municipality)
    state = case.orientation_state if course == "orientation" else case.training_state
    if state == CourseState.NOT_ELIGIBLE_YET:
        # The plan is done but the coordinator has not updated the course yet.
        state = CourseState.CAN_START
    message = render_response(f"case_{course}_{state}", language, municipality)
    # The fragment is a line of the status list; alone it needs no list dash.
    return RenderedMessage(
        text=message.text.removeprefix("- "), buttons=message.buttons, language=message.language
    )
