"""the change feed: who each committed transaction concerns, for pushing live updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import bnpl_app.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', bnpl_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('changes')
