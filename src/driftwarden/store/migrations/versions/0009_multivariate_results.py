"""Each monitor result keeps its multivariate drift and its explanation drift.

Adversarial validation of the window against the version's training sample, and each feature's
attributions against the version's holdout attributions (``driftwarden.explain``), stored as
JSON beside the drift report; null where the run did not measure them.

Revision ID: 0009
Revises: 0008
Create Date: 2024-12-21 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("monitor_results", sa.Column("multivariate", sa.JSON(), nullable=True))
    op.add_column("monitor_results", sa.Column("explanation", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table; PostgreSQL gets ALTER TABLE.
    with op.batch_alter_table("monitor_results") as batch:
        batch.drop_column("explanation")
        batch.drop_column("multivariate")
