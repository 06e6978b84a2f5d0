"""interest keeps running on overdue 备用金 principal: what an installment has accrued of it
(``overdue_interest_fen``, a running total rounded once, at its draw's daily rate from the due
date) and over how many days (``overdue_interest_days``)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_interest_fen', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overdue_interest_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('ck_inst_overdue_interest',
                                         "overdue_interest_fen >= 0 AND overdue_interest_days >= 0")


def downgrade() -> None:
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_constraint('ck_inst_overdue_interest', type_='check')
        batch_op.drop_column('overdue_interest_days')
        batch_op.drop_column('overdue_interest_fen')
