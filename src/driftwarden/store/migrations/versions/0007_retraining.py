"""Retraining runs, champion/challenger A/B tests and the snapshots of each test's statistics.

At most one retraining run and one A/B test per model is ``running``: partial unique indexes
on ``model_name`` hold the rule in the database, so replicas that start one at the same moment
cannot both succeed.

Revision ID: 0007
Revises: 0006
Create Date: 2024-12-10 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwarden.store.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_RUNNING = "status = 'running'"


def upgrade() -> None:
    op.create_table(
        "retrain_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("champion_version", sa.Integer(), nullable=True),
        sa.Column("candidate_version", sa.Integer(), nullable=True),
        sa.Column("ab_test_id", sa.Integer(), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrain_runs")),
    )
    op.create_index(
        "ix_retrain_runs_model_name_running",
        "retrain_runs",
        ["model_name"],
        unique=True,
        sqlite_where=sa.text(_RUNNING),
        postgresql_where=sa.text(_RUNNING),
    )
    op.create_index(
        "ix_retrain_runs_model_name_requested_at",
        "retrain_runs",
        ["model_name", "requested_at"],
        unique=False,
    )
    op.create_table(
        "ab_tests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("champion_version", sa.Integer(), nullable=False),
        sa.Column("challenger_version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("salt", sa.String(length=128), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("retrain_run_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_tests")),
    )
    op.create_index(
        "ix_ab_tests_model_name_running",
        "ab_tests",
        ["model_name"],
        unique=True,
        sqlite_where=sa.text(_RUNNING),
        postgresql_where=sa.text(_RUNNING),
    )
    op.create_index(
        "ix_ab_tests_model_name_started_at",
        "ab_tests",
        ["model_name", "started_at"],
        unique=False,
    )
    op.create_table(
        "ab_test_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("n_champion", sa.Integer(), nullable=False),
        sa.Column("n_challenger", sa.Integer(), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["test_id"],
            ["ab_tests.id"],
            name=op.f("fk_ab_test_snapshots_test_id_ab_tests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_test_snapshots")),
    )
    op.create_index(
        "ix_ab_test_snapshots_test_id_id", "ab_test_snapshots", ["test_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ab_test_snapshots_test_id_id", table_name="ab_test_snapshots")
    op.drop_table("ab_test_snapshots")
    op.drop_index("ix_ab_tests_model_name_started_at", table_name="ab_tests")
    op.drop_index("ix_ab_tests_model_name_running", table_name="ab_tests")
    op.drop_table("ab_tests")
    op.drop_index("ix_retrain_runs_model_name_requested_at", table_name="retrain_runs")
    op.drop_index("ix_retrain_runs_model_name_running", table_name="retrain_runs")
    op.drop_table("retrain_runs")
