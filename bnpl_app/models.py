"""SQLModel tables: the only authority on money and limits. Money columns are int fen; every
datetime is timezone-aware UTC. Guard rails the rules depend on are CHECK and UNIQUE
constraints, so a bug or a race is refused by the database rather than believed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from .domain.clock import UTC
from .domain.status import (  # noqa: F401 — re-exported: the tables' callers name them from here
    BNPL_ACTIVE,
    BNPL_CLOSED,
    BNPL_NOT_OPENED,
    BNPL_SUSPENDED,
    MERCHANT,
    OPERATOR,
    SHOPPER,
    ApplicationKind,
    ApplicationStatus,
    BnplStatus,
    CashLineStatus,
    DrawDest,
    FreezeState,
    InstallmentStatus,
    MethodKind,
    OrderKind,
    OrderStatus,
    RentalStatus,
    ReturnOutcome,
    ReturnStatus,
    Role,
)


class UTCDateTime(TypeDecorator):
    """DateTime(timezone=True) that always hands back aware UTC, also on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times come from the clock, in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts(nullable: bool = False, index: bool = False):
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def one_of(column: str, values: type[StrEnum], name: str) -> sa.CheckConstraint:
    """The CHECK that keeps ``column`` to the enum's values: the enum is the one list."""
    return sa.CheckConstraint(f"{column} IN ({','.join(repr(v.value) for v in values)})", name=name)




class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    password_hash: str
    role: str = Field(max_length=16)
    display_name: str = Field(max_length=60)
    real_name_verified: bool = False
    phone: str | None = Field(default=None, max_length=20)
    locale: str = Field(default="zh", max_length=5)
    created_at: datetime = ts()
    __table_args__ = (one_of("role", Role, "ck_user_role"),)


class AuthSession(SQLModel, table=True):
    """Server-side sessions. The browser holds only the random token (an HttpOnly cookie); we
    store its hash. ``last_seen_at`` (idle expiry; written at most once a minute), the client
    address and a user-agent string are what the account's security page shows."""

    __tablename__ = "auth_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = ts()
    expires_at: datetime = ts()
    revoked_at: datetime | None = ts(nullable=True)
    last_seen_at: datetime | None = ts(nullable=True)  # None: never since created_at
    address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)


class LoginThrottle(SQLModel, table=True):
    """One tally of log-in (or sign-up) attempts per key: ``scope`` says which kind of key —
    ``account`` (the name typed, whether or not such an account exists), ``address`` (the client
    address) or ``signup`` (an address signing up). The decisions are ``domain/throttle.py``'s;
    ``version`` lets every worker update a tally with a guarded compare-and-set."""

    __tablename__ = "login_throttles"
    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=12)
    key: str = Field(max_length=64)
    attempts: int = 0
    window_start: datetime | None = ts(nullable=True)
    locked_until: datetime | None = ts(nullable=True)
    locks: int = 0
    last_at: datetime = ts()
    version: int = 0
    __table_args__ = (
        sa.UniqueConstraint("scope", "key", name="uq_login_throttle_key"),
        sa.CheckConstraint("scope IN ('account','address','signup')", name="ck_login_throttle_scope"),
        sa.CheckConstraint("attempts >= 0 AND locks >= 0", name="ck_login_throttle_counts"),
    )


class CreditAccount(SQLModel, table=True):
    """limit = available + frozen + outstanding, available = max(0, limit − frozen − outstanding)."""

    __tablename__ = "credit_accounts"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", sa_column_kwargs={"unique": True})
    score: int
    limit_fen: int = 0
    frozen_fen: int = 0
    outstanding_fen: int = 0
    self_cap_fen: int | None = None
    bnpl_status: str = Field(default=BNPL_NOT_OPENED, max_length=16)
    terms_version: str | None = Field(default=None, max_length=20)
    terms_accepted_at: datetime | None = ts(nullable=True)
    restorable_limit_fen: int | None = None  # the limit before a cut, up to which ops may restore
    on_time_streak: int = 0
    bad_debt: bool = False
    autopay_days_before: int = 0
    updated_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("score BETWEEN 350 AND 950", name="ck_credit_score"),
        sa.CheckConstraint("limit_fen >= 0 AND frozen_fen >= 0 AND outstanding_fen >= 0", name="ck_credit_nonneg"),
        sa.CheckConstraint("self_cap_fen IS NULL OR self_cap_fen >= 0", name="ck_credit_selfcap"),
        sa.CheckConstraint("autopay_days_before BETWEEN 0 AND 3", name="ck_credit_autopay"),
        one_of("bnpl_status", BnplStatus, "ck_credit_status"),
    )


class CreditEvent(SQLModel, table=True):
    """History of score and limit changes, with why (drives the score chart)."""

    __tablename__ = "credit_events"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    at: datetime = ts()
    kind: str = Field(max_length=16)  # score | limit | status
    old_value: int
    new_value: int
    reason: str = Field(max_length=200)


class PaymentMethod(SQLModel, table=True):
    __tablename__ = "payment_methods"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=10)  # wallet | card
    label: str = Field(max_length=60)
    balance_fen: int = 0
    priority: int = 0  # lower is tried first
    # The shopper lets automatic deductions use this method (in ``priority`` order); manual payments may use any.
    autopay: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    removed_at: datetime | None = ts(nullable=True)  # unbound by the shopper: kept for the journal, never used again
    created_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("balance_fen >= 0", name="ck_method_balance"),
        one_of("kind", MethodKind, "ck_method_kind"),
    )


class Merchant(SQLModel, table=True):
    __tablename__ = "merchants"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", sa_column_kwargs={"unique": True})
    name: str = Field(max_length=60)
    shop_cap_fen: int
    __table_args__ = (sa.CheckConstraint("shop_cap_fen >= 0", name="ck_merchant_cap"),)


class Product(SQLModel, table=True):
    __tablename__ = "products"
    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=500)
    category: str = Field(default="", max_length=30)
    price_fen: int
    stock: int
    image: str = Field(default="", max_length=120)
    bnpl_enabled: bool = False
    trial_days: int = 7
    min_score: int = 550
    allowed_plans: str = Field(default="full", max_length=20)  # comma list of full,3,6,12
    interest_free: bool = False
    created_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="ck_product_price"),
        sa.CheckConstraint("stock >= 0", name="ck_product_stock"),
        sa.CheckConstraint("trial_days BETWEEN 1 AND 30", name="ck_product_trial"),
    )

    @property
    def plans(self) -> list[str]:
        """The plans the merchant offers for this product, in the stored order."""
        return [x for x in self.allowed_plans.split(",") if x]


class Order(SQLModel, table=True):
    """A contract whose installments the engine runs: ``kind`` says which product (``OrderKind``).
    A 备用金 draw has no merchant; only 先用后付 and ordinary purchases are of a catalog product."""

    __tablename__ = "orders"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=OrderKind.BNPL, max_length=8, sa_column_kwargs={"server_default": "bnpl"})
    shopper_id: int = Field(foreign_key="users.id", index=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchants.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="products.id")
    product_name: str = Field(max_length=80)
    price_fen: int
    plan: str = Field(max_length=5)
    periods: int
    status: str = Field(max_length=20, index=True)
    idempotency_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    request_hash: str = Field(max_length=64)
    created_at: datetime = ts()
    trial_end_at: datetime = ts(index=True)
    # Terms as they were when the order was made: open orders finish under them.
    fee_bps: int
    late_fee_bps_per_day: int
    late_fee_cap_bps: int
    grace_days: int
    platform_fee_bps: int
    resumed_at: datetime | None = ts(nullable=True)  # trial resumed after a rejected return
    billed_at: datetime | None = ts(nullable=True)
    closed_at: datetime | None = ts(nullable=True)  # paid or returned
    on_time: bool | None = None
    reminders_sent: int = 0  # bit i set = reminder i of policy.reminder_days_before sent
    # The quote the shopper confirmed (``checkout.Terms`` as JSON): the order is made on exactly these terms.
    quote_json: str | None = Field(default=None, max_length=4000)
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="ck_order_price"),
        one_of("status", OrderStatus, "ck_order_status"),
        one_of("kind", OrderKind, "ck_order_kind"),
        sa.CheckConstraint("kind = 'cash' OR merchant_id IS NOT NULL", name="ck_order_merchant"),
        sa.CheckConstraint("kind NOT IN ('bnpl','buy') OR product_id IS NOT NULL", name="ck_order_product"),
        sa.Index("ix_orders_status_trial_end", "status", "trial_end_at"),
    )


class Installment(SQLModel, table=True):
    __tablename__ = "installments"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    shopper_id: int = Field(foreign_key="users.id", index=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchants.id")  # NULL: a 备用金 draw's
    seq: int
    periods: int
    due_at: datetime = ts()
    principal_fen: int
    fee_fen: int = 0
    late_fee_fen: int = 0
    late_fee_waived_fen: int = 0
    fee_waived_fen: int = 0
    status: str = Field(max_length=12)
    attempt_at: datetime | None = ts(nullable=True)  # next automatic deduction attempt
    attempts: int = 0
    last_failure: str | None = Field(default=None, max_length=200)
    was_overdue: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})  # ever missed its due date
    penalized: bool = False  # grace ended unpaid: score and limit cut applied (once)
    suspended_applied: bool = False
    bad_debt_applied: bool = False
    late_fee_days: int = 0
    # An overdue 备用金 installment's interest on its unpaid principal, at its draw's daily rate for
    # every day past the due date (``rules.overdue_interest``; a hardship plan's carries what it took over).
    overdue_interest_fen: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    overdue_interest_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    plan_application_id: int | None = Field(default=None, foreign_key="applications.id")
    paid_at: datetime | None = ts(nullable=True)
    paid_fen: int = 0
    paid_method_id: int | None = Field(default=None, foreign_key="payment_methods.id")
    auto_paid: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})  # taken by the sweep
    # The first notice that announced this installment's automatic deduction: no deduction before
    # it is ``POLICY.min_notice`` old. Bit i of ``notices_sent``: notice i of policy.reminder_days_before sent.
    noticed_at: datetime | None = ts(nullable=True)
    notices_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    refunded_fen: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    refunded_at: datetime | None = ts(nullable=True)
    __table_args__ = (
        sa.CheckConstraint("principal_fen >= 0 AND fee_fen >= 0 AND late_fee_fen >= 0", name="ck_inst_nonneg"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="ck_inst_refund"),
        sa.CheckConstraint("late_fee_waived_fen >= 0 AND late_fee_waived_fen <= late_fee_fen", name="ck_inst_waiver"),
        sa.CheckConstraint("fee_waived_fen >= 0 AND fee_waived_fen <= fee_fen", name="ck_inst_feewaiver"),
        sa.CheckConstraint("overdue_interest_fen >= 0 AND overdue_interest_days >= 0", name="ck_inst_overdue_interest"),
        one_of("status", InstallmentStatus, "ck_inst_status"),
        sa.Index("ix_inst_status_attempt", "status", "attempt_at"),
        sa.Index("ix_inst_status_due", "status", "due_at"),
    )


class ReturnRequest(SQLModel, table=True):
    __tablename__ = "returns"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", sa_column_kwargs={"unique": True})
    shopper_id: int = Field(foreign_key="users.id", index=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    tracking_no: str = Field(max_length=40)
    status: str = Field(max_length=12)  # IN_TRANSIT RECEIVED ACCEPTED REJECTED
    requested_at: datetime = ts()
    received_at: datetime | None = ts(nullable=True)
    inspect_deadline_at: datetime | None = ts(nullable=True)
    inspected_at: datetime | None = ts(nullable=True)
    outcome: str | None = Field(default=None, max_length=16)  # intact damaged auto_accepted
    reason: str | None = Field(default=None, max_length=300)
    __table_args__ = (
        one_of("status", ReturnStatus, "ck_return_status"),
        sa.CheckConstraint(f"outcome IS NULL OR {one_of('outcome', ReturnOutcome, '').sqltext}", name="ck_return_outcome"),
    )


class ReturnPhoto(SQLModel, table=True):
    __tablename__ = "return_photos"
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="returns.id", index=True)
    stored_name: str = Field(max_length=80)
    content_type: str = Field(max_length=40)
    size: int
    created_at: datetime = ts()


class OrderEvent(SQLModel, table=True):
    """The credit-hold timeline: frozen → return shipped → received → inspected → released/captured."""

    __tablename__ = "order_events"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    at: datetime = ts()
    step: str = Field(max_length=24)
    amount_fen: int | None = None
    note: str = Field(default="", max_length=200)


class Application(SQLModel, table=True):
    __tablename__ = "applications"
    id: int | None = Field(default=None, primary_key=True)
    shopper_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=12)  # restoration | hardship
    status: str = Field(default=ApplicationStatus.PENDING, max_length=10)  # PENDING APPROVED REJECTED
    reason_category: str = Field(default="other", max_length=16)
    statement: str = Field(default="", max_length=1000)
    proposed_installments: int | None = None
    request_fee_waiver: bool = False
    created_at: datetime = ts()
    decided_at: datetime | None = ts(nullable=True)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decision_reason: str | None = Field(default=None, max_length=500)
    approved_limit_fen: int | None = None
    waived_fen: int | None = None
    plan_installments: int | None = None
    __table_args__ = (
        one_of("kind", ApplicationKind, "ck_app_kind"),
        one_of("status", ApplicationStatus, "ck_app_status"),
    )


class ApplicationProof(SQLModel, table=True):
    __tablename__ = "application_proofs"
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="applications.id", index=True)
    stored_name: str = Field(max_length=80)
    content_type: str = Field(max_length=40)
    size: int
    label: str = Field(default="", max_length=80)  # sanitised original name, for display only
    created_at: datetime = ts()


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=24)
    title: str = Field(max_length=120)  # rendered in 中文 at write time (also what the SMS says)
    body: str = Field(max_length=500)
    params_json: str = Field(default="{}", max_length=1000)  # to render in the reader's language
    created_at: datetime = ts()
    read_at: datetime | None = ts(nullable=True)
    dedupe_key: str | None = Field(default=None, max_length=80, sa_column_kwargs={"unique": True})
    installment_id: int | None = None  # the installment a deduction notice is about (the audit reads it)


class Outbox(SQLModel, table=True):
    """Stands in for SMS: what would be sent, once."""

    __tablename__ = "outbox"
    # Only the relay reads it, oldest unsent first: a partial index on id (every insert an append)
    # rather than one by user, which put a random page into every sweep batch for each shopper.
    __table_args__ = (sa.Index("ix_outbox_unsent", "id", sqlite_where=sa.text("sent_at IS NULL"),
                               postgresql_where=sa.text("sent_at IS NULL")),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    channel: str = Field(default="sms", max_length=10)
    body: str = Field(max_length=500)
    created_at: datetime = ts()
    sent_at: datetime | None = ts(nullable=True)
    dedupe_key: str | None = Field(default=None, max_length=80, sa_column_kwargs={"unique": True})


class Posting(SQLModel, table=True):
    """The journal: append-only two-leg transfers (TigerBeetle's model), so each posting balances
    by construction (−amount on the debit account, +amount on the credit account). A business
    event with several legs shares one ``posting_key``; ``(posting_key, leg)`` is UNIQUE, which is
    what makes a replayed capture or release impossible."""

    __tablename__ = "postings"
    id: int | None = Field(default=None, primary_key=True)
    ledger: str = Field(max_length=6)  # limit | money
    posting_key: str = Field(max_length=64)
    leg: int = 0
    debit_account: str = Field(max_length=40, index=True)
    credit_account: str = Field(max_length=40, index=True)
    amount_fen: int
    kind: str = Field(max_length=20)
    order_id: int | None = Field(default=None, index=True)
    installment_id: int | None = None
    created_at: datetime = ts()
    __table_args__ = (
        sa.UniqueConstraint("posting_key", "leg", name="uq_posting_key_leg"),
        sa.CheckConstraint("amount_fen > 0", name="ck_posting_positive"),
        sa.CheckConstraint("debit_account <> credit_account", name="ck_posting_two_accounts"),
        sa.CheckConstraint("ledger IN ('limit','money')", name="ck_posting_ledger"),
    )


class CashLine(SQLModel, table=True):
    """A shopper's 备用金 line, separate from the 先用后付 limit: line = available + outstanding
    principal, available ≥ 0 (the CHECK). Mirrored in the limit ledger as ``cash:<uid>:granted``
    (−line) · ``:available`` · ``:outstanding``."""

    __tablename__ = "cash_lines"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", sa_column_kwargs={"unique": True})
    line_fen: int
    outstanding_fen: int = 0
    status: str = Field(default=CashLineStatus.ACTIVE, max_length=8)
    daily_rate_ppm: int  # interest per day on outstanding principal, parts per million (400 = 0.04 %)
    score_at_grant: int
    card_method_id: int | None = Field(default=None, foreign_key="payment_methods.id")  # the bank card bound at apply
    granted_at: datetime = ts()
    updated_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("line_fen >= 0 AND outstanding_fen >= 0 AND outstanding_fen <= line_fen",
                           name="ck_cash_line_identity"),
        sa.CheckConstraint("daily_rate_ppm > 0", name="ck_cash_line_rate"),
        one_of("status", CashLineStatus, "ck_cash_line_status"),
    )


class CashDraw(SQLModel, table=True):
    """One draw on a 备用金 line: its installments belong to ``order_id`` (an order of kind cash)."""

    __tablename__ = "cash_draws"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    line_id: int = Field(foreign_key="cash_lines.id", index=True)
    order_id: int = Field(foreign_key="orders.id", sa_column_kwargs={"unique": True})
    amount_fen: int
    term_months: int
    daily_rate_ppm: int
    interest_fen: int  # total interest of the quoted schedule (if repaid as scheduled)
    dest: str = Field(max_length=6)
    method_id: int | None = Field(default=None, foreign_key="payment_methods.id")  # the card paid out to
    purchase_order_id: int | None = Field(default=None, foreign_key="orders.id")  # the purchase it paid for
    quote_json: str = Field(max_length=4000)
    idempotency_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    request_hash: str = Field(max_length=64)
    created_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0 AND interest_fen >= 0", name="ck_cash_draw_amount"),
        sa.CheckConstraint("term_months IN (3, 6, 12)", name="ck_cash_draw_term"),
        one_of("dest", DrawDest, "ck_cash_draw_dest"),
    )


class RentalListing(SQLModel, table=True):
    """A device a merchant rents out (信用分租机)."""

    __tablename__ = "rental_listings"
    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=500)
    image: str = Field(default="", max_length=120)
    monthly_rent_fen: int
    terms: str = Field(default="6,12", max_length=20)  # comma list of months offered
    deposit_fen: int
    buyout_fen: int  # the buy-out price at the end of the term
    damage_rules: str = Field(default="", max_length=500)
    stock: int = 0
    active: bool = True
    created_at: datetime = ts()
    updated_at: datetime = ts()
    __table_args__ = (
        sa.CheckConstraint("monthly_rent_fen > 0 AND deposit_fen >= 0 AND buyout_fen >= 0", name="ck_listing_money"),
        sa.CheckConstraint("stock >= 0", name="ck_listing_stock"),
    )


class Rental(SQLModel, table=True):
    """One device rented by one shopper: the contract (``contract_json``, accepted at
    ``accepted_at``), the deposit decision (``waived_fen`` held as a freeze on the shopper's
    credit, ``paid_deposit_fen`` taken from a method), delivery, the rent (installments of
    ``order_id``, an order of kind rent, made at delivery) and the end: return and inspection,
    or buy-out. ``freeze_state`` moves HELD → RELEASED | CAPTURED once, by a guarded update."""

    __tablename__ = "rentals"
    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="rental_listings.id", index=True)
    shopper_id: int = Field(foreign_key="users.id", index=True)
    merchant_id: int = Field(foreign_key="merchants.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    device_name: str = Field(max_length=80)
    term_months: int
    monthly_rent_fen: int
    deposit_fen: int
    waived_fen: int = 0
    paid_deposit_fen: int = 0
    deposit_method_id: int | None = Field(default=None, foreign_key="payment_methods.id")
    deposit_refunded_fen: int = 0
    buyout_fen: int
    damage_rules: str = Field(default="", max_length=500)
    score_at_review: int
    contract_json: str = Field(max_length=4000)
    accepted_at: datetime = ts()
    status: str = Field(default=RentalStatus.AWAITING_DELIVERY, max_length=20, index=True)
    serial: str | None = Field(default=None, max_length=40)
    delivered_at: datetime | None = ts(nullable=True)
    tracking_no: str | None = Field(default=None, max_length=40)
    return_shipped_at: datetime | None = ts(nullable=True)
    received_at: datetime | None = ts(nullable=True)
    inspect_deadline_at: datetime | None = ts(nullable=True)
    inspected_at: datetime | None = ts(nullable=True)
    outcome: str | None = Field(default=None, max_length=16)  # intact damaged auto_accepted
    repair_fen: int = 0
    reason: str | None = Field(default=None, max_length=300)
    freeze_state: str = Field(default=FreezeState.NONE, max_length=10)
    freeze_resolved_at: datetime | None = ts(nullable=True)
    bought_out_at: datetime | None = ts(nullable=True)
    buyout_paid_fen: int = 0
    closed_at: datetime | None = ts(nullable=True)
    idempotency_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    request_hash: str = Field(max_length=64)
    created_at: datetime = ts()
    __table_args__ = (
        one_of("status", RentalStatus, "ck_rental_status"),
        one_of("freeze_state", FreezeState, "ck_rental_freeze"),
        sa.CheckConstraint("waived_fen >= 0 AND paid_deposit_fen >= 0 AND waived_fen + paid_deposit_fen = deposit_fen",
                           name="ck_rental_deposit"),
        sa.CheckConstraint("deposit_refunded_fen >= 0 AND deposit_refunded_fen <= paid_deposit_fen",
                           name="ck_rental_refund"),
        sa.CheckConstraint("repair_fen >= 0 AND repair_fen <= deposit_fen", name="ck_rental_repair"),
        sa.CheckConstraint("term_months > 0 AND monthly_rent_fen > 0", name="ck_rental_terms"),
    )


class RentalPhoto(SQLModel, table=True):
    __tablename__ = "rental_photos"
    id: int | None = Field(default=None, primary_key=True)
    rental_id: int = Field(foreign_key="rentals.id", index=True)
    stored_name: str = Field(max_length=80)
    content_type: str = Field(max_length=40)
    size: int
    created_at: datetime = ts()


class SimClock(SQLModel, table=True):
    """The persisted demo clock (one row): simulated ``now`` as of the wall-clock ``anchor``.
    Between advances it runs at wall speed (so countdowns tick) unless ``frozen``."""

    __tablename__ = "sim_clock"
    id: int = Field(default=1, primary_key=True)
    now: datetime = ts()
    anchor: datetime = ts()
    frozen: bool = False


class SweepRun(SQLModel, table=True):
    """One row per sweep run: when, what it did. Useful to operators and to the audit."""

    __tablename__ = "sweep_runs"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = ts()
    at: datetime = ts()
    summary: str = Field(default="", max_length=300)


class Change(SQLModel, table=True):
    """The change feed: one row per committed transaction and user it concerns (``user_id`` NULL:
    everyone, e.g. a product edit or a clock move), written in the same transaction as the change.
    Each app process tails it (woken by PostgreSQL NOTIFY or Redis pub/sub when configured) and
    tells only those users' open tabs to reload. Pruned by the sweep (``changes.prune``)."""

    __tablename__ = "changes"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None)
    topic: str = Field(max_length=12)
    created_at: datetime = ts()
