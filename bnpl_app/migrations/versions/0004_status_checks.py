"""order and return statuses (and a return's outcome) kept to their enums by CHECK constraints,
like every other status column

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ORDER_STATUS = ("status IN ('TRIAL','RETURN_IN_TRANSIT','RETURN_RECEIVED','RETURN_REJECTED','RETURNED',"
                "'DUE','OVERDUE','PAID')")
RETURN_STATUS = "status IN ('IN_TRANSIT','RECEIVED','ACCEPTED','REJECTED')"
RETURN_OUTCOME = "outcome IS NULL OR outcome IN ('intact','damaged','auto_accepted')"


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_order_status', ORDER_STATUS)
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_return_status', RETURN_STATUS)
        batch_op.create_check_constraint('ck_return_outcome', RETURN_OUTCOME)


def downgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_constraint('ck_return_outcome', type_='check')
        batch_op.drop_constraint('ck_return_status', type_='check')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('ck_order_status', type_='check')
