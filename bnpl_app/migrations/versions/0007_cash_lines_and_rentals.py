"""the seeds' two other credit products on the same engine: 备用金 lines and draws, 信用分租机
listings, rentals and their return photos; an order gets a kind (bnpl, cash, rent, charge, buy),
and a 备用金 draw's order and installments have no merchant

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:11:59
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from bnpl_app.models import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cash_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('line_fen', sa.Integer(), nullable=False),
    sa.Column('outstanding_fen', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('daily_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('score_at_grant', sa.Integer(), nullable=False),
    sa.Column('card_method_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active','closed')", name='ck_cash_line_status'),
    sa.CheckConstraint('daily_rate_ppm > 0', name='ck_cash_line_rate'),
    sa.CheckConstraint('line_fen >= 0 AND outstanding_fen >= 0 AND outstanding_fen <= line_fen', name='ck_cash_line_identity'),
    sa.ForeignKeyConstraint(['card_method_id'], ['payment_methods.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('rental_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('image', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('monthly_rent_fen', sa.Integer(), nullable=False),
    sa.Column('terms', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('deposit_fen', sa.Integer(), nullable=False),
    sa.Column('buyout_fen', sa.Integer(), nullable=False),
    sa.Column('damage_rules', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('monthly_rent_fen > 0 AND deposit_fen >= 0 AND buyout_fen >= 0', name='ck_listing_money'),
    sa.CheckConstraint('stock >= 0', name='ck_listing_stock'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rental_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rental_listings_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('cash_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('daily_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('interest_fen', sa.Integer(), nullable=False),
    sa.Column('dest', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('method_id', sa.Integer(), nullable=True),
    sa.Column('purchase_order_id', sa.Integer(), nullable=True),
    sa.Column('quote_json', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("dest IN ('card','shop')", name='ck_cash_draw_dest'),
    sa.CheckConstraint('amount_fen > 0 AND interest_fen >= 0', name='ck_cash_draw_amount'),
    sa.CheckConstraint('term_months IN (3, 6, 12)', name='ck_cash_draw_term'),
    sa.ForeignKeyConstraint(['line_id'], ['cash_lines.id'], ),
    sa.ForeignKeyConstraint(['method_id'], ['payment_methods.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('cash_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_draws_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cash_draws_user_id'), ['user_id'], unique=False)

    op.create_table('rentals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('shopper_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('device_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('monthly_rent_fen', sa.Integer(), nullable=False),
    sa.Column('deposit_fen', sa.Integer(), nullable=False),
    sa.Column('waived_fen', sa.Integer(), nullable=False),
    sa.Column('paid_deposit_fen', sa.Integer(), nullable=False),
    sa.Column('deposit_method_id', sa.Integer(), nullable=True),
    sa.Column('deposit_refunded_fen', sa.Integer(), nullable=False),
    sa.Column('buyout_fen', sa.Integer(), nullable=False),
    sa.Column('damage_rules', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('score_at_review', sa.Integer(), nullable=False),
    sa.Column('contract_json', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('accepted_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('tracking_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('return_shipped_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('inspect_deadline_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('inspected_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('repair_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('freeze_state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('freeze_resolved_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('bought_out_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('buyout_paid_fen', sa.Integer(), nullable=False),
    sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("freeze_state IN ('none','held','released','captured')", name='ck_rental_freeze'),
    sa.CheckConstraint("status IN ('AWAITING_DELIVERY','RENTING','RETURN_IN_TRANSIT','RETURN_RECEIVED','RETURNED','BOUGHT_OUT','CANCELLED')", name='ck_rental_status'),
    sa.CheckConstraint('deposit_refunded_fen >= 0 AND deposit_refunded_fen <= paid_deposit_fen', name='ck_rental_refund'),
    sa.CheckConstraint('repair_fen >= 0 AND repair_fen <= deposit_fen', name='ck_rental_repair'),
    sa.CheckConstraint('term_months > 0 AND monthly_rent_fen > 0', name='ck_rental_terms'),
    sa.CheckConstraint('waived_fen >= 0 AND paid_deposit_fen >= 0 AND waived_fen + paid_deposit_fen = deposit_fen', name='ck_rental_deposit'),
    sa.ForeignKeyConstraint(['deposit_method_id'], ['payment_methods.id'], ),
    sa.ForeignKeyConstraint(['listing_id'], ['rental_listings.id'], ),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['shopper_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('rentals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rentals_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rentals_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rentals_shopper_id'), ['shopper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rentals_status'), ['status'], unique=False)

    op.create_table('rental_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rental_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rental_id'], ['rentals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rental_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rental_photos_rental_id'), ['rental_id'], unique=False)

    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.alter_column('merchant_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='bnpl', nullable=False))
        batch_op.alter_column('merchant_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('product_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint('ck_order_kind', "kind IN ('bnpl','cash','rent','charge','buy')")
        batch_op.create_check_constraint('ck_order_merchant', "kind = 'cash' OR merchant_id IS NOT NULL")
        batch_op.create_check_constraint('ck_order_product', "kind NOT IN ('bnpl','buy') OR product_id IS NOT NULL")



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('ck_order_product', type_='check')
        batch_op.drop_constraint('ck_order_merchant', type_='check')
        batch_op.drop_constraint('ck_order_kind', type_='check')
        batch_op.alter_column('product_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('merchant_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('kind')

    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.alter_column('merchant_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('rental_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rental_photos_rental_id'))

    op.drop_table('rental_photos')
    with op.batch_alter_table('rentals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rentals_status'))
        batch_op.drop_index(batch_op.f('ix_rentals_shopper_id'))
        batch_op.drop_index(batch_op.f('ix_rentals_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_rentals_listing_id'))

    op.drop_table('rentals')
    with op.batch_alter_table('cash_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_draws_user_id'))
        batch_op.drop_index(batch_op.f('ix_cash_draws_line_id'))

    op.drop_table('cash_draws')
    with op.batch_alter_table('rental_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rental_listings_merchant_id'))

    op.drop_table('rental_listings')
    op.drop_table('cash_lines')
