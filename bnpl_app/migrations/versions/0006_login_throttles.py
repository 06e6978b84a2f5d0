"""log-in throttling: one tally of attempts per account name, client address and signing-up
address, shared by every backend worker

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from bnpl_app.models import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('window_start', UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', UTCDateTime(timezone=True), nullable=True),
    sa.Column('locks', sa.Integer(), nullable=False),
    sa.Column('last_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'key', name='uq_login_throttle_key'),
    sa.CheckConstraint("scope IN ('account','address','signup')", name='ck_login_throttle_scope'),
    sa.CheckConstraint('attempts >= 0 AND locks >= 0', name='ck_login_throttle_counts'),
    )


def downgrade() -> None:
    op.drop_table('login_throttles')
