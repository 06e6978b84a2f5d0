"""sessions bound to an HttpOnly cookie: a session's last-seen time (idle expiry), the client
address and user agent it was started from (the account's security page); every session open
before this version is ended, as its token was readable by page scripts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from bnpl_app.models import UTCDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('auth_sessions', sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('auth_sessions', sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('auth_sessions', sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200),
                                             nullable=True))
    # A token issued before this version sat in a cookie page scripts could read: none stays valid.
    op.execute("UPDATE auth_sessions SET revoked_at = created_at WHERE revoked_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions') as batch:
        batch.drop_column('user_agent')
        batch.drop_column('address')
        batch.drop_column('last_seen_at')
