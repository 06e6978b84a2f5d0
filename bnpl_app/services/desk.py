"""The operator desk's reads: the review queue with a summary of each applicant, one application
with its proofs and what approving it would touch, shopper look-up (credit, orders, installments,
postings), overdue risk buckets and bad debts.

Callers check the operator role first (``auth.require_operator``); these functions only read.
Money is int fen."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain.clock import UTC, Clock
from ..domain.errors import NotFound
from ..domain.policy import POLICY
from ..models import (
    SHOPPER,
    Application,
    ApplicationProof,
    ApplicationStatus as AS,
    BnplStatus as BS,
    CashLine,
    CreditAccount,
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderStatus as OS,
    OrderKind as OK,
    PaymentMethod,
    Posting,
    Rental,
    RentalStatus as RS,
    User,
)
from ..domain.status import FreezeState as FS
from . import applications, credit, payments
from .ledger import LIMIT, MONEY, pm
from .paging import Key, Keyset, Page, as_id, clean_query, contains, fetch
from ..domain.rules import days_overdue, is_bad_debt

INST = Installment.__table__
ORD = Order.__table__
P = Posting.__table__
CL = CashLine.__table__
RT = Rental.__table__
QUEUE_LIMIT = 200


# ── 备用金 and rentals: what a shopper (or the platform) owes and holds on them ─────────────────────
@dataclass(frozen=True)
class CashExposure:
    lines: int = 0  # 备用金 lines granted
    line_fen: int = 0
    outstanding_fen: int = 0  # principal drawn and not repaid
    overdue_fen: int = 0  # owed on overdue 备用金 installments (principal, interest, late fees)

    @property
    def available_fen(self) -> int:
        return max(0, self.line_fen - self.outstanding_fen)


@dataclass(frozen=True)
class RentalExposure:
    active: int = 0  # rentals not yet ended (awaiting delivery, renting, being returned)
    held: int = 0  # waived deposits still frozen on the 先用后付 limit
    held_fen: int = 0
    overdue_fen: int = 0  # owed on overdue rent


def _overdue_of_kind(session: Session, kind: str, uid: int | None = None) -> int:
    q = sa.select(Installment).join(Order, Order.id == Installment.order_id).where(
        Installment.status == IS.OVERDUE, Order.kind == kind)
    if uid is not None:
        q = q.where(Installment.shopper_id == uid)
    return sum(payments.owed(i) for i in session.execute(q).scalars())


def cash_exposure(*, session: Session, uid: int | None = None) -> CashExposure:
    """备用金 lines (one shopper's, or the platform's): how many, granted, drawn, overdue."""
    q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(CL.c.line_fen), 0),
                  sa.func.coalesce(sa.func.sum(CL.c.outstanding_fen), 0))
    if uid is not None:
        q = q.where(CL.c.user_id == uid)
    n, line, outstanding = session.execute(q).one()
    return CashExposure(int(n), int(line), int(outstanding), _overdue_of_kind(session, OK.CASH, uid))


def rental_exposure(*, session: Session, uid: int | None = None) -> RentalExposure:
    """Rentals (one shopper's, or the platform's): active, deposits frozen, rent overdue."""
    q = sa.select(sa.func.coalesce(sa.func.sum(sa.case((RT.c.status.in_(RS.ACTIVE), 1), else_=0)), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((RT.c.freeze_state == FS.HELD, 1), else_=0)), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((RT.c.freeze_state == FS.HELD, RT.c.waived_fen), else_=0)), 0))
    if uid is not None:
        q = q.where(RT.c.shopper_id == uid)
    active, held, held_fen = session.execute(q).one()
    return RentalExposure(int(active), int(held), int(held_fen), _overdue_of_kind(session, OK.RENT, uid))


# ── a shopper at a glance ────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ShopperSummary:
    user_id: int
    username: str
    display_name: str
    score: int
    limit_fen: int
    available_fen: int
    frozen_fen: int
    outstanding_fen: int
    restorable_limit_fen: int | None
    bnpl_status: str
    bad_debt: bool
    orders: int
    orders_paid: int
    orders_on_time: int
    owed_fen: int  # everything open: principal + fees + late fees not waived
    overdue_fen: int
    late_fees_fen: int
    max_days_overdue: int


def summary(*, session: Session, uid: int, clock: Clock) -> ShopperSummary:
    now = clock.now()
    user = session.get(User, uid)
    if user is None or user.role != SHOPPER:
        raise NotFound("shopper")
    acct = credit.account(session=session, uid=uid)
    n_orders, n_paid, n_on_time = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((ORD.c.status == OS.PAID, 1), else_=0)), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((ORD.c.on_time.is_(True), 1), else_=0)), 0))
        .where(ORD.c.shopper_id == uid)).one()
    owed = overdue = late = 0
    worst = 0
    for inst in session.exec(select(Installment).where(Installment.shopper_id == uid, Installment.status.in_(IS.OPEN))):
        o = payments.owed(inst)
        owed += o
        late += inst.late_fee_fen - inst.late_fee_waived_fen
        if inst.status == IS.OVERDUE:
            overdue += o
            worst = max(worst, days_overdue(inst.due_at, now))
    return ShopperSummary(
        uid, user.username, user.display_name, acct.score, acct.limit_fen, credit.available(acct), acct.frozen_fen,
        acct.outstanding_fen, acct.restorable_limit_fen, acct.bnpl_status, acct.bad_debt, int(n_orders), int(n_paid),
        int(n_on_time), owed, overdue, late, worst,
    )


# ── the review queue ─────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ProofFile:
    stored_name: str
    content_type: str
    label: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class QueueItem:
    application: Application
    shopper: ShopperSummary
    proofs: list[ProofFile]


def _proofs(session: Session, app_ids: list[int]) -> dict[int, list[ProofFile]]:
    out: dict[int, list[ProofFile]] = defaultdict(list)
    if app_ids:
        for p in session.exec(select(ApplicationProof).where(ApplicationProof.application_id.in_(app_ids))
                              .order_by(ApplicationProof.id)):
            out[p.application_id].append(ProofFile(p.stored_name, p.content_type, p.label, p.size))
    return out


APP = Application.__table__
USR = User.__table__
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Pending: first come, first served. Decided: the latest decision first.
PENDING_QUEUE = Keyset("queue_pending", (Key(APP.c.created_at, datetime), Key(APP.c.id, int)))
DECIDED_QUEUE = Keyset("queue_decided", (
    Key(sa.func.coalesce(APP.c.decided_at, sa.literal(_EPOCH, APP.c.decided_at.type)), datetime, desc=True),
    Key(APP.c.id, int)))


def _queue_items(session: Session, apps: list[Application], clock: Clock) -> list[QueueItem]:
    proofs = _proofs(session, [a.id for a in apps])
    summaries: dict[int, ShopperSummary] = {}
    out = []
    for a in apps:
        if a.shopper_id not in summaries:
            summaries[a.shopper_id] = summary(session=session, uid=a.shopper_id, clock=clock)
        out.append(QueueItem(a, summaries[a.shopper_id], proofs[a.id]))
    return out


def _queue_select(status: str, query: str = ""):
    q = select(Application)
    if status in set(AS):
        q = q.where(Application.status == status)
    text = clean_query(query)
    if text:
        who = sa.select(USR.c.id).where(USR.c.role == SHOPPER, sa.or_(contains(USR.c.username, text),
                                                                      contains(USR.c.display_name, text)))
        q = q.where(Application.shopper_id.in_(who))
    return q, PENDING_QUEUE if status == AS.PENDING else DECIDED_QUEUE


def review_queue(*, session: Session, clock: Clock, status: str = AS.PENDING) -> list[QueueItem]:
    """The first QUEUE_LIMIT applications in queue order (pending oldest first, decided newest first)."""
    q, keyset = _queue_select(status)
    return _queue_items(session, list(session.exec(q.order_by(*keyset.order_by()).limit(QUEUE_LIMIT))), clock)


def review_page(*, session: Session, clock: Clock, status: str = AS.PENDING, query: str = "", cursor: str = "",
                size: int | None = None) -> Page[QueueItem]:
    """One page of the queue, each application with its shopper's summary; ``query`` finds the
    applications of shoppers whose username (or name) contains it."""
    q, keyset = _queue_select(status, query)
    page = fetch(session=session, stmt=q, keyset=keyset, cursor=cursor, size=size)
    return page.with_items(_queue_items(session, page.items, clock))


@dataclass(frozen=True)
class ApplicationDetail:
    application: Application
    shopper: ShopperSummary
    proofs: list[ProofFile]
    decided_by: str
    late_fees_fen: int  # what a hardship approval may waive, at most
    restorable_limit_fen: int  # what a restoration may restore, at most
    hardship_principal_fen: int  # principal a hardship plan would carry
    history: list[CreditEvent]


def application_detail(*, session: Session, application_id: object, clock: Clock) -> ApplicationDetail:
    app = applications.get_application(session=session, application_id=application_id)
    shopper = summary(session=session, uid=app.shopper_id, clock=clock)
    decided_by = ""
    if app.decided_by:
        who = session.get(User, app.decided_by)
        decided_by = who.display_name if who else ""
    principal = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(INST.c.principal_fen), 0)).where(
            INST.c.shopper_id == app.shopper_id, INST.c.status.in_(IS.OPEN),
            INST.c.order_id.in_(sa.select(INST.c.order_id).where(INST.c.shopper_id == app.shopper_id,
                                                                  INST.c.status == IS.OVERDUE)))).scalar_one()
    history = list(session.exec(select(CreditEvent).where(CreditEvent.user_id == app.shopper_id)
                                .order_by(CreditEvent.at.desc(), CreditEvent.id.desc()).limit(20)))
    return ApplicationDetail(app, shopper, _proofs(session, [app.id])[app.id], decided_by,
                             applications.hardship_late_fees(session=session, uid=app.shopper_id),
                             shopper.restorable_limit_fen or 0, int(principal), history)


# ── shopper look-up ──────────────────────────────────────────────────────────────────────────
def _shoppers_select(query: str):
    """Shoppers by id, username or display name (case-insensitive substring)."""
    q = select(User).where(User.role == SHOPPER)
    text = clean_query(query)
    if not text:
        return q
    cond = [contains(USR.c.username, text), contains(USR.c.display_name, text)]
    if (uid := as_id(text)) is not None:
        cond.append(USR.c.id == uid)
    return q.where(sa.or_(*cond))


SHOPPERS = Keyset("shoppers", (Key(USR.c.id, int),))


def find_shoppers(*, session: Session, query: str, limit: int = 20) -> list[User]:
    """The first ``limit`` matches, by id."""
    return list(session.exec(_shoppers_select(query).order_by(User.id).limit(limit)))


def shoppers_page(*, session: Session, query: str = "", cursor: str = "", size: int | None = None) -> Page[User]:
    """One page of the shoppers matching ``query`` (all shoppers when it is empty), by id."""
    return fetch(session=session, stmt=_shoppers_select(query), keyset=SHOPPERS, cursor=cursor, size=size)


@dataclass(frozen=True)
class PostingLine:
    id: int
    at: datetime
    ledger: str
    kind: str
    debit: str
    credit: str
    amount_fen: int
    order_id: int | None


@dataclass
class ShopperFile:
    user: User
    summary: ShopperSummary
    self_cap_fen: int | None
    orders: list[Order]
    installments: list[Installment]
    methods: list[PaymentMethod]
    postings: list[PostingLine]
    applications: list[Application]
    events: list[CreditEvent] = field(default_factory=list)
    cash: CashExposure = field(default_factory=CashExposure)
    rentals: RentalExposure = field(default_factory=RentalExposure)


def shopper_file(*, session: Session, uid: object, clock: Clock, postings_limit: int = 100) -> ShopperFile:
    if isinstance(uid, bool) or not isinstance(uid, int):
        raise NotFound("shopper")
    s = summary(session=session, uid=uid, clock=clock)
    user = session.get(User, uid)
    acct = credit.account(session=session, uid=uid)
    methods = payments.methods_in_order(session=session, uid=uid)
    journal = payments.methods_in_order(session=session, uid=uid, with_removed=True)  # unbound ones' postings too
    accounts = ([f"lim:{uid}:{b}" for b in ("granted", "headroom", "frozen", "outstanding")]
                + [f"cash:{uid}:{b}" for b in ("granted", "available", "outstanding")] + [pm(m.id) for m in journal])
    rows = session.execute(
        sa.select(P.c.id, P.c.created_at, P.c.ledger, P.c.kind, P.c.debit_account, P.c.credit_account, P.c.amount_fen,
                  P.c.order_id)
        .where(P.c.ledger.in_((LIMIT, MONEY)), sa.or_(P.c.debit_account.in_(accounts), P.c.credit_account.in_(accounts)))
        .order_by(P.c.id.desc()).limit(postings_limit)).all()
    return ShopperFile(
        user=user, summary=s, self_cap_fen=acct.self_cap_fen,
        orders=list(session.exec(select(Order).where(Order.shopper_id == uid).order_by(Order.id.desc())
                                 .limit(postings_limit))),
        installments=list(session.exec(select(Installment).where(Installment.shopper_id == uid)
                                       .order_by(Installment.due_at.desc(), Installment.id.desc()).limit(100))),
        methods=methods,
        postings=[PostingLine(*r) for r in rows],
        applications=list(session.exec(select(Application).where(Application.shopper_id == uid)
                                       .order_by(Application.id.desc()))),
        events=list(session.exec(select(CreditEvent).where(CreditEvent.user_id == uid)
                                 .order_by(CreditEvent.at.desc(), CreditEvent.id.desc()).limit(30))),
        cash=cash_exposure(session=session, uid=uid), rentals=rental_exposure(session=session, uid=uid),
    )


# ── risk ─────────────────────────────────────────────────────────────────────────────────────
# (key, lowest days overdue, highest, inclusive); day 0 (failed today) sits with the grace days.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-3", 0, POLICY.grace_days),
    ("4-30", POLICY.grace_days + 1, POLICY.suspend_after_days),
    ("31-90", POLICY.suspend_after_days + 1, POLICY.bad_debt_after_days - 1),
    ("90+", POLICY.bad_debt_after_days, None),
)


def bucket_of(days: int) -> str:
    for key, lo, hi in BUCKETS:
        if days >= lo and (hi is None or days <= hi):
            return key
    return BUCKETS[-1][0]


@dataclass
class Bucket:
    key: str
    low: int
    high: int | None
    installments: int = 0
    shoppers: int = 0
    principal_fen: int = 0
    owed_fen: int = 0  # principal + fees + late fees not waived


@dataclass(frozen=True)
class BadDebt:
    user_id: int
    username: str
    display_name: str
    owed_fen: int
    days_overdue: int
    installments: int


@dataclass
class Risk:
    buckets: list[Bucket]
    bad_debts: list[BadDebt]
    overdue_fen: int
    frozen_fen: int  # platform-wide exposure, for scale
    outstanding_fen: int
    suspended: int
    cash: CashExposure = field(default_factory=CashExposure)
    rentals: RentalExposure = field(default_factory=RentalExposure)


def risk(*, session: Session, clock: Clock) -> Risk:
    now = clock.now()
    buckets = {k: Bucket(k, lo, hi) for k, lo, hi in BUCKETS}
    who: dict[str, set[int]] = defaultdict(set)
    per_shopper: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # owed, worst days, count
    for inst in session.exec(select(Installment).where(Installment.status == IS.OVERDUE)):
        days = days_overdue(inst.due_at, now)
        b = buckets[bucket_of(days)]
        owed = payments.owed(inst)
        b.installments += 1
        b.principal_fen += inst.principal_fen
        b.owed_fen += owed
        who[b.key].add(inst.shopper_id)
        ps = per_shopper[inst.shopper_id]
        ps[0] += owed
        ps[1] = max(ps[1], days)
        ps[2] += 1
    for k, b in buckets.items():
        b.shoppers = len(who[k])
    # A bad debt: flagged by the sweep (≥ 90 days), until a restoration clears the flag.
    flagged = {uid for (uid,) in session.execute(sa.select(CreditAccount.user_id).where(CreditAccount.bad_debt.is_(True)))}
    flagged |= {uid for uid, (_o, days, _n) in per_shopper.items() if is_bad_debt(days)}
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(flagged)))} if flagged else {}
    bad = sorted((BadDebt(uid, users[uid].username, users[uid].display_name, per_shopper[uid][0], per_shopper[uid][1],
                          per_shopper[uid][2]) for uid in flagged if uid in users), key=lambda b: -b.owed_fen)
    frozen, outstanding, suspended = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(CreditAccount.frozen_fen), 0), sa.func.coalesce(sa.func.sum(CreditAccount.outstanding_fen), 0),
        sa.func.coalesce(sa.func.sum(sa.case((CreditAccount.bnpl_status == BS.SUSPENDED, 1), else_=0)), 0))).one()
    return Risk([buckets[k] for k, _lo, _hi in BUCKETS], bad, sum(b.owed_fen for b in buckets.values()),
                int(frozen), int(outstanding), int(suspended), cash_exposure(session=session),
                rental_exposure(session=session))
