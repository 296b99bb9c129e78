"""0002: each scan definition names the baseline its drift is measured against and how
many runs in a row a `pass → inconclusive` flip must last before it is drift.

A database adopted from `create_all` of a later schema.py already has the columns: they are
added only where missing.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("baseline", sa.String(length=128), server_default="default", nullable=False),
        sa.Column("drift_persist", sa.Integer(), server_default="2", nullable=False),
    ]


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("schedules")}
    with op.batch_alter_table("schedules") as batch:
        for column in _columns():
            if column.name not in have:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        for column in _columns():
            batch.drop_column(column.name)
