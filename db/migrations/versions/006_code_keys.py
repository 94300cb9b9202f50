"""codes: keyed hashes (HMAC under CODE_SECRET, key id per row), invitation expiry, attempts
index

Access codes and trusted-person invitations used to be stored as plain SHA-256, which a leaked
database gives up to a few GPU-hours of brute force. From now on they are HMAC-SHA256 under a
server-side secret kept outside the database, with the id of the key next to each hash so keys
can be rotated (services.people.codes.CodeKeys).

What happens to the rows already there (they cannot be re-hashed: only their hash is known):

* access codes get the key id ``legacy`` and are still accepted, by their SHA-256, until their
  own expiry (at most the 366 days a code can be issued for): letters already printed keep
  working. Re-issuing a class's letters replaces them with keyed ones;
* unaccepted invitations get the key id ``legacy`` too and, like every new invitation, a short
  life of their own: 72 hours (the INVITE_TTL_HOURS default) from this upgrade, after which the
  parent creates a new one.

Downgrading drops the key ids and the invitation expiry; keyed rows then match no code (the
old code hashes with plain SHA-256), which fails safe: they read as unknown.

Written 2026-11-30.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "006"
down_revision = "005"

LEGACY_KEY_ID = "legacy"
LEGACY_INVITE_TTL = timedelta(hours=72)


def upgrade() -> None:
    with op.batch_alter_table("access_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=16), nullable=False, server_default=LEGACY_KEY_ID)
        )
    with op.batch_alter_table("access_codes", schema=None) as batch_op:
        batch_op.alter_column("key_id", server_default=None)

    with op.batch_alter_table("trusted_access", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_key_id", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("invite_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
    until = datetime.now(UTC) + LEGACY_INVITE_TTL
    if op.get_bind().dialect.name == "sqlite":  # stored as naive UTC, like UTCDateTime does
        until = until.replace(tzinfo=None)
    trusted = sa.table(
        "trusted_access",
        sa.column("invite_hash", sa.String()),
        sa.column("invite_key_id", sa.String()),
        sa.column("invite_expires_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        trusted.update()
        .where(trusted.c.invite_hash.is_not(None))
        .values(invite_key_id=LEGACY_KEY_ID, invite_expires_at=until)
    )

    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_attempts_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_attempts_at"))
    with op.batch_alter_table("trusted_access", schema=None) as batch_op:
        batch_op.drop_column("invite_expires_at")
        batch_op.drop_column("invite_key_id")
    with op.batch_alter_table("access_codes", schema=None) as batch_op:
        batch_op.drop_column("key_id")
