"""what the promises to the shopper need: the quote an order was made on, notices before every
deduction (when an installment was first announced, which notices went out, which installment a
notice is about), deductions told apart from manual payments, refunds of returned paid orders,
and payment methods the shopper binds, unbinds and lets auto-deduction use

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from bnpl_app.models import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INST_STATUS_OLD = "status IN ('PENDING','SCHEDULED','OVERDUE','PAID','CANCELLED','REPLACED')"
INST_STATUS_NEW = "status IN ('PENDING','SCHEDULED','OVERDUE','PAID','CANCELLED','REPLACED','REFUNDED')"


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_json', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True))
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_paid', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('noticed_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('notices_sent', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('refunded_fen', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('refunded_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('ck_inst_status', type_='check')
        batch_op.create_check_constraint('ck_inst_status', INST_STATUS_NEW)
        batch_op.create_check_constraint('ck_inst_refund', "refunded_fen >= 0 AND refunded_fen <= paid_fen")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('installment_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('autopay', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('autopay')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('installment_id')
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_constraint('ck_inst_refund', type_='check')
        batch_op.drop_constraint('ck_inst_status', type_='check')
        batch_op.create_check_constraint('ck_inst_status', INST_STATUS_OLD)
        batch_op.drop_column('refunded_at')
        batch_op.drop_column('refunded_fen')
        batch_op.drop_column('notices_sent')
        batch_op.drop_column('noticed_at')
        batch_op.drop_column('auto_paid')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('quote_json')
