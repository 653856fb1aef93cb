"""Labels hold numbers, and a regression model's predictions have no predicted class.

A regression model is labelled with the true value (a house price), which an integer column
would truncate: ``labels.label`` becomes a float (0 and 1 stay 0.0 and 1.0 for a classifier).
``predictions.label``, a classifier's predicted class, becomes nullable: a regression model's
answer is its score, and there is no class to store.

Revision ID: 0008
Revises: 0007
Create Date: 2024-12-20 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite changes a column by copying the table; PostgreSQL gets ALTER TABLE.
    with op.batch_alter_table("labels") as batch:
        batch.alter_column(
            "label", existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=False
        )
    with op.batch_alter_table("predictions") as batch:
        batch.alter_column("label", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A regression label cannot be an integer class: refuse rather than truncate it.
    connection = op.get_bind()
    fractional = connection.execute(
        sa.text("SELECT count(*) FROM labels WHERE label <> CAST(label AS INTEGER)")
    ).scalar_one()
    unclassed = connection.execute(
        sa.text("SELECT count(*) FROM predictions WHERE label IS NULL")
    ).scalar_one()
    if fractional or unclassed:
        raise RuntimeError(
            f"cannot downgrade below 0008: {fractional} labels are not whole numbers and "
            f"{unclassed} predictions have no class (a regression model's); delete them first"
        )
    with op.batch_alter_table("predictions") as batch:
        batch.alter_column("label", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("labels") as batch:
        batch.alter_column(
            "label",
            existing_type=sa.Float(),
            type_=sa.Integer(),
            existing_nullable=False,
            postgresql_using="label::integer",
        )
