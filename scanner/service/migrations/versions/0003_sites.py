"""0003: the sites' tables (scanner/sites/): a run's per-device tasks, every result as a
site worker lands it, and the central login ledger.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "site_tasks" not in have:
        op.create_table(
            "site_tasks",
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("address", sa.String(64), nullable=False),
            sa.Column("site", sa.String(64), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("worker", sa.String(255), server_default="", nullable=False),
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
            sa.Column("reason", sa.Text(), server_default="", nullable=False),
            sa.Column("reason_ja", sa.Text(), server_default="", nullable=False),
            sa.Column("services", sa.JSON(), nullable=False),
            sa.Column("identity", sa.JSON(), nullable=False),
            sa.Column("updated", TS, nullable=False),
            sa.PrimaryKeyConstraint("run_id", "address", name="pk_site_tasks"),
        )
        op.create_index("ix_site_tasks_run_id_state", "site_tasks", ["run_id", "state"])
    if "site_results" not in have:
        op.create_table(
            "site_results",
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("address", sa.String(64), nullable=False),
            sa.Column("service_key", sa.String(64), nullable=False),
            sa.Column("check_id", sa.String(128), nullable=False),
            sa.Column("verdict", sa.String(16), nullable=False),
            sa.Column("data", sa.Text(), nullable=False),
            sa.Column("worker", sa.String(255), server_default="", nullable=False),
            sa.Column("written", sa.Integer(), server_default="1", nullable=False),
            sa.Column("landed", TS, nullable=False),
            sa.PrimaryKeyConstraint(
                "run_id", "address", "service_key", "check_id", name="pk_site_results"
            ),
        )
    if "site_logins" not in have:
        op.create_table(
            "site_logins",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("address", sa.String(64), nullable=False),
            sa.Column("username", sa.String(255), nullable=False),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("held", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_site_logins"),
        )
        op.create_index("ix_site_logins_address_username", "site_logins", ["address", "username"])


def downgrade() -> None:
    op.drop_table("site_logins")
    op.drop_table("site_results")
    op.drop_table("site_tasks")
