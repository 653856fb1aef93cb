"""Widen the request and entity ids to what the API accepts.

The API takes a ``request_id`` of up to 128 characters (a shadow row adds ``:shadow``) and an
entity id of up to 256; the first tables held 64 and 128, so PostgreSQL refused longer ids.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _resize(request_id: int, entity_id: int, *, was: tuple[int, int]) -> None:
    # Batch mode: SQLite cannot change a column's type in place, so the table is copied;
    # PostgreSQL gets plain ALTER COLUMN statements.
    with op.batch_alter_table("predictions") as batch:
        batch.alter_column(
            "request_id",
            existing_type=sa.String(length=was[0]),
            type_=sa.String(length=request_id),
            existing_nullable=False,
        )
        batch.alter_column(
            "entity_id",
            existing_type=sa.String(length=was[1]),
            type_=sa.String(length=entity_id),
            existing_nullable=True,
        )
    with op.batch_alter_table("labels") as batch:
        batch.alter_column(
            "request_id",
            existing_type=sa.String(length=was[0]),
            type_=sa.String(length=request_id),
            existing_nullable=False,
        )


def upgrade() -> None:
    _resize(160, 256, was=(64, 128))


def downgrade() -> None:
    # Fails on PostgreSQL if a stored id is longer than the old limit, rather than cutting it.
    _resize(64, 128, was=(160, 256))
