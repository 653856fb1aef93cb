"""Link each shadow row to the request it shadows, so that it can be labelled.

A shadow row is stored under ``<id>:shadow``, an id no client ever sees, while labels arrive
under ``<id>``: without a link the challenger's shadow scores never met a label. The new
``parent_request_id`` holds ``<id>`` on shadow rows (null on answered rows) and is indexed on
shadow rows only; the shadow rows already stored get it from their request id.

Revision ID: 0004
Revises: 0003
Create Date: 2024-12-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SHADOW_SUFFIX = ":shadow"


def upgrade() -> None:
    op.add_column(
        "predictions", sa.Column("parent_request_id", sa.String(length=160), nullable=True)
    )
    # Partial: answered rows have no parent, and their inserts skip the index.
    only_shadows = sa.text("parent_request_id IS NOT NULL")
    op.create_index(
        "ix_predictions_parent_request_id",
        "predictions",
        ["parent_request_id"],
        sqlite_where=only_shadows,
        postgresql_where=only_shadows,
    )
    # A lightweight table, not the model: this revision must not change with tables.py.
    predictions = sa.table(
        "predictions",
        sa.column("request_id", sa.String()),
        sa.column("variant", sa.String()),
        sa.column("parent_request_id", sa.String()),
    )
    request_id = predictions.c.request_id
    op.execute(
        predictions.update()
        .where(predictions.c.variant == "shadow", request_id.like(f"%{_SHADOW_SUFFIX}"))
        .values(
            parent_request_id=sa.func.substr(
                request_id, 1, sa.func.length(request_id) - len(_SHADOW_SUFFIX)
            )
        )
    )


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table; PostgreSQL gets ALTER TABLE.
    with op.batch_alter_table("predictions") as batch:
        batch.drop_index("ix_predictions_parent_request_id")
        batch.drop_column("parent_request_id")
