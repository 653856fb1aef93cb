"""Serve every prediction window from one index on (created_at, model_version).

Windows are read by time, with or without a model version. An index on ``created_at`` served
the first and one on ``(model_version, created_at)`` the second, and every insert updated both.
One index led by ``created_at`` serves both (the version is checked in the index, before a row
is read) and leaves each insert one index page less to write.

Revision ID: 0005
Revises: 0004
Create Date: 2024-12-02 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_predictions_created_at_model_version", "predictions", ["created_at", "model_version"]
    )
    op.drop_index("ix_predictions_model_version_created_at", table_name="predictions")
    op.drop_index("ix_predictions_created_at", table_name="predictions")


def downgrade() -> None:
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_index(
        "ix_predictions_model_version_created_at", "predictions", ["model_version", "created_at"]
    )
    op.drop_index("ix_predictions_created_at_model_version", table_name="predictions")
