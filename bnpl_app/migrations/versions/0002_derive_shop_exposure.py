"""per-shop exposure is derived from orders and installments, no longer stored

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('shop_exposure')


def downgrade() -> None:
    op.create_table('shop_exposure',
    sa.Column('shopper_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('exposure_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('exposure_fen >= 0', name='ck_exposure_nonneg'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ),
    sa.ForeignKeyConstraint(['shopper_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('shopper_id', 'merchant_id')
    )
    # Rebuild the counters from what they summarised: held orders plus open installments.
    op.execute("""
        INSERT INTO shop_exposure (shopper_id, merchant_id, exposure_fen)
        SELECT shopper_id, merchant_id, SUM(amt) FROM (
            SELECT shopper_id, merchant_id, price_fen AS amt FROM orders
             WHERE status IN ('TRIAL', 'RETURN_IN_TRANSIT', 'RETURN_RECEIVED', 'RETURN_REJECTED')
            UNION ALL
            SELECT shopper_id, merchant_id, principal_fen FROM installments WHERE status IN ('SCHEDULED', 'OVERDUE')
        ) AS held GROUP BY shopper_id, merchant_id""")
