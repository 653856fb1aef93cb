"""A lease table, so that one process of many runs the monitor.

Every API replica (and every worker of ``driftwarden serve --workers``) starts the monitor loop;
the one holding the ``monitor:<model>`` lease runs each pass, the others stand by and take the
lease over when it expires.

Revision ID: 0010
Revises: 0009
Create Date: 2024-12-28 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
