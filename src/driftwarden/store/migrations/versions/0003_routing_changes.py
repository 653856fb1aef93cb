"""The history of the champion/challenger experiment, shared by every API replica.

Each change of a model's routing (mode, challenger share, salt) is a new row with when and by
whom it was made; the newest row of a model is the experiment that replicas serve and reload
after a restart.

Revision ID: 0003
Revises: 0002
Create Date: 2024-09-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwarden.store.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("salt", sa.String(length=128), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_changes"),
    )
    op.create_index("ix_routing_changes_model_name_id", "routing_changes", ["model_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_routing_changes_model_name_id", table_name="routing_changes")
    op.drop_table("routing_changes")
