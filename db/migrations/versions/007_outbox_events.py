"""outbox: rows name their event, not a template

An outbox row used to store the path of the template it was to be rendered with, so renaming
a template orphaned the rows still waiting. From now on a row names its notification event
(services.notify.events.NotificationEvent), and the template is chosen from the event when the
row is sent. The event of the journal's and the scheduled rows moves out of the payload into
the new column; the other rows get theirs from their template.

What happens to the rows already there: each gets the event its template (and, for the
journal's rows, its payload) names. A row with a template this revision does not know (none
is written by the code before it) gets the template's file name as its event; no event has
that name, so the dispatcher cancels it instead of sending it.

Downgrading gives every row the template its event names again, and the journal's and the
scheduled rows their event in the payload.

The tables below are frozen copies of what the code knew at this revision: later renames of
events or templates must not change what this migration does.

Written 2026-12-02.
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "007"
down_revision = "006"

#: Events whose rows carried the event in the payload, and the template group each was told in.
PLANNED = {
    "grade": "grade",
    "grade_changed": "grade",
    "grade_deleted": "grade",
    "homework": "homework",
    "attendance": "attendance",
    "submission_reviewed": "submission_reviewed",
    "comment": "comment",
    "reply": "reply",
    "digest": "digest",
    "weekly": "weekly",
    "homework_due": "homework_due",
    "timetable": "timetable",
    "period_summary": "period_summary",
}
#: Events whose payload is the whole context of their template.
SELF_CONTAINED = {
    "link_request": "linking/request_staff.html.j2",
    "link_decision": "linking/decision_parent.html.j2",
    "trusted_accepted": "linking/trusted_accepted.html.j2",
    "access_revoked": "linking/access_revoked.html.j2",
    "code_wave": "linking/code_wave.html.j2",
}
EVENT_OF_TEMPLATE = {template: event for event, template in SELF_CONTAINED.items()}

#: (old column's value, payload) → (new column's value, payload)
Convert = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]

outbox = sa.table(
    "notification_outbox",
    sa.column("id", sa.Integer()),
    sa.column("template", sa.String()),
    sa.column("event", sa.String()),
    sa.column("payload", sa.JSON()),
)


def _file_name(template: str) -> str:
    return template.rsplit("/", 1)[-1].split(".", 1)[0][:32]


def _event_of(template: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(event, payload without the event) of a row written before this revision."""
    payload = dict(payload)
    named = payload.pop("event", None) if template.startswith("notify/") else None
    if isinstance(named, str) and named in PLANNED:
        return named, payload
    if template in EVENT_OF_TEMPLATE:
        return EVENT_OF_TEMPLATE[template], payload
    return _file_name(template), payload


def _template_of(event: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(template, payload) of a row for the code before this revision."""
    if event in SELF_CONTAINED:
        return SELF_CONTAINED[event], payload
    if event in PLANNED:
        return f"notify/{PLANNED[event]}.html.j2", {"event": event, **payload}
    return f"notify/{event}.html.j2", payload


def _convert(source: str, target: str, convert: Convert) -> None:
    """Fill column `target` of every row from column `source` and the payload."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(outbox.c.id, outbox.c[source], outbox.c.payload)).all()
    changes = []
    for row_id, value, payload in rows:
        new_value, new_payload = convert(value, payload or {})
        changes.append({"row_id": row_id, "value": new_value, "new_payload": new_payload})
    if changes:
        bind.execute(
            outbox.update()
            .where(outbox.c.id == sa.bindparam("row_id"))
            .values({target: sa.bindparam("value"), "payload": sa.bindparam("new_payload")}),
            changes,
        )


def _replace(old: str, new: sa.Column[Any], convert: Convert) -> None:
    """Replace column `old` by `new`, filled from the old one and the payload."""
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column(new.name, new.type, nullable=True))
    _convert(old, new.name, convert)
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.alter_column(new.name, existing_type=new.type, nullable=False)
        batch_op.drop_column(old)


def upgrade() -> None:
    _replace("template", sa.Column("event", sa.String(length=32)), _event_of)


def downgrade() -> None:
    _replace("event", sa.Column("template", sa.String(length=128)), _template_of)
