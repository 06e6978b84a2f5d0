"""The sweep's set-based deduction path writes exactly what the per-row path (the reference) writes.

Hypothesis builds random small worlds through the real services — shoppers with a wallet and maybe
a card (either first) and balances, auto-repay days, orders on every plan (interest-free or not),
paid on time, late, partly, early or not at all, returns rejected (the trial resumes) or accepted,
hardship plans, closed 先用后付, auto-repay settings changed (attempts moved, announced afresh),
payment methods unbound or left out of auto-deduction — moving the clock with sweeps in between,
then moves it once more without sweeping, so that the last sweep finds bills due now, notices
before deductions due now, retries of overdue ones (announced by their failure notice), early
auto-repay attempts, late fees, reward steps; and installments as an upgraded database has them
(never told) or told too recently to be deducted (the gate). The world is
copied; the sweep runs once on each copy, with the set-based path on and off
(``sweep._BATCH_PATH``), and every table must come out the same, row for row.

Rows are compared with their ids; where the two paths legitimately insert in another order
(notices, SMS, postings, credit events, order events, the change feed) they are compared by their
natural keys instead: a limit posting by the event its key names, credit events per shopper in
their order, the change feed as the (user, topic) pairs of each transaction (its time is the wall
clock's)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import event, given, strategies as st
from sqlmodel import SQLModel

from bnpl_app.db import transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.domain.errors import DomainError
from bnpl_app.domain.policy import POLICY
from bnpl_app.domain import rules
from bnpl_app.models import (CashLine, Installment, InstallmentStatus as IS, Order, OrderStatus as OS, PaymentMethod,
                             Product, Rental)
from bnpl_app.jobs import sweep
from bnpl_app.services import applications, bills, checkout, consent, orders, payments, wallet
from bnpl_app.jobs.sweep import run_sweep
from bnpl_app.services.uploads import StoredFile
import kinds
from helpers import World, memory_engine, pg_scratch_engine, pg_url, snapshot

PHOTO = ("0123456789abcdef0123456789abcdef.jpg", "image/jpeg", 2_048)
PROOF = StoredFile("fedcba9876543210fedcba9876543210.pdf", "application/pdf", 4_096, "voucher.pdf")
# price, trial days, plans, 免息
PRODUCTS = [(9_900, 7, "full,3,6,12", False), (29_900, 3, "full,3", True), (45_000, 2, "3,6", False),
            (4_500, 1, "full,3", False)]
SEEN: Counter = Counter()  # what the compared sweeps did, over all examples

shoppers = st.lists(st.fixed_dictionaries({
    "score": st.sampled_from([560, 600, 660, 720, 760]),
    "wallet": st.one_of(st.just(0), st.integers(1, 40_000), st.just(400_000)),
    "card": st.one_of(st.none(), st.integers(0, 60_000)),
    "card_first": st.booleans(),
    "autopay": st.integers(0, POLICY.autopay_days_before_max),
    "orders": st.lists(st.tuples(st.integers(0, len(PRODUCTS) - 1), st.integers(0, 3)), min_size=1, max_size=4),
    # a 备用金 line and a first draw (amount, term) — more draws are actions, below — and a rental
    # (shop, monthly rent, deposit waived in full, half or not at all)
    "line": st.one_of(st.none(), st.tuples(st.integers(10_000, 90_000), st.sampled_from(POLICY.cash_terms))),
    "rental": st.one_of(st.none(), st.tuples(st.integers(0, 1), st.integers(1_000, 40_000), st.sampled_from([0, 1, 2]))),
}), min_size=1, max_size=4)
who = st.integers(0, 3)
actions = st.one_of(
    st.tuples(st.just("buy"), who, st.integers(0, len(PRODUCTS) - 1), st.integers(0, 3)),
    st.tuples(st.just("buy"), who, st.integers(0, len(PRODUCTS) - 1), st.integers(0, 3)),
    st.tuples(st.just("top up"), who, st.integers(1, 60_000)),
    st.tuples(st.just("repay"), who),
    st.tuples(st.just("pay now"), who),
    st.tuples(st.just("return"), who, st.booleans()),
    st.tuples(st.just("hardship"), who, st.integers(1, 4), st.integers(0, 3_000)),
    st.tuples(st.just("close"), who),
    st.tuples(st.just("autopay"), who, st.integers(0, POLICY.autopay_days_before_max)),
    st.tuples(st.just("method"), who, st.sampled_from(["unbind", "autopay off", "autopay on"]), st.integers(0, 2)),
    # the other kinds on the same engine: 备用金 draws, rentals (waived, half, paid deposit), their end
    st.tuples(st.just("draw"), who, st.integers(10_000, 90_000), st.sampled_from(POLICY.cash_terms)),
    st.tuples(st.just("rent"), who, st.integers(0, 1), st.integers(1_000, 40_000), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("end rental"), who, st.sampled_from(["intact", "damaged", "buy out"])),
)
steps = st.lists(st.tuples(
    st.lists(actions, max_size=4),
    st.one_of(st.tuples(st.just("advance"), st.integers(1, 80)),  # every sweep in between, in time order
              st.tuples(st.just("jump"), st.integers(1, 24 * 45))),  # one catch-up sweep (a sweep that was down)
), max_size=4)
finals = st.fixed_dictionaries({
    "top_ups": st.lists(st.tuples(who, st.integers(1, 60_000)), max_size=2),
    "to": st.integers(0, 5),  # the k-th next moment something falls due (a trial's end, an attempt) …
    "hours": st.integers(0, 30),  # … and so many hours after it
    "batch_size": st.sampled_from([1, 3, 4_000]),
    # open installments (the k-th, mod how many) put as an upgraded database has them (never told) or
    # as told too recently for a deduction now
    "legacy": st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["never told", "told just now"])), max_size=3),
})

_ENGINES: list = []


def _engines():
    """Two in-memory databases, reused by every example (compiling SQL afresh for each example
    would cost more than the example); the first, emptied, for the world being built."""
    if not _ENGINES:
        _ENGINES.extend([memory_engine(), memory_engine()])
    else:
        with _ENGINES[0].begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
    return _ENGINES


def _copy(src, dst) -> None:
    """The whole database ``src`` over ``dst`` (SQLite's online backup)."""
    a, b = src.raw_connection(), dst.raw_connection()
    try:
        a.driver_connection.backup(b.driver_connection)
    finally:
        a.close()
        b.close()


class Builder:
    """Plays a drawn world through the services; a refusal (a domain error) is an allowed outcome."""

    def __init__(self, world: World, spec: list[dict]) -> None:
        self.w = world
        m = self.merchants = [world.merchant(), world.merchant()]
        self.products = [world.product(m[k % 2], price_fen=price, trial_days=days, plans=plans, interest_free=free)
                         for k, (price, days, plans, free) in enumerate(PRODUCTS)]
        self.operator = world.operator()
        self.shoppers = []
        self._keys = 0
        for sh in spec:
            uid = world.shopper(score=sh["score"], wallet_fen=sh["wallet"])
            self.shoppers.append(uid)
            if sh["card"] is not None:
                self.do(lambda s, sh=sh, uid=uid: wallet.add_card(session=s, uid=uid, bank="招商银行", last4="1234",
                                                                  balance_fen=sh["card"], clock=self.clock))
            if sh["line"] is not None:
                kinds.cash_line(world, uid, line_fen=200_000)
            self.do(lambda s, sh=sh, uid=uid: bills.set_autopay(
                session=s, uid=uid, days_before=sh["autopay"], clock=self.clock,
                method_order=[m.id for m in payments.methods_in_order(session=s, uid=uid)][::-1 if sh["card_first"] else 1]))
        for k, sh in enumerate(spec):
            for product, plan in sh["orders"]:
                self.act(("buy", k, product, plan))
            # made some weeks ago, so that their first installments fall due while the world is played
            if sh["line"] is not None:
                self.act(("draw", k, *sh["line"]), ago=timedelta(days=27))
            if sh["rental"] is not None:
                self.act(("rent", k, *sh["rental"]), ago=timedelta(days=27))

    @property
    def clock(self):
        return self.w.clock

    def key(self) -> str:
        self._keys += 1  # deterministic, so a failing example replays exactly
        return f"checkout-key-{self._keys:04d}"

    def do(self, fn):
        try:
            with transaction(self.w.engine) as s:
                return fn(s)
        except DomainError:
            return None

    def who(self, k: int) -> int:
        return self.shoppers[k % len(self.shoppers)]

    def orders_of(self, uid: int, statuses) -> list[int]:
        with transaction(self.w.engine) as s:
            return list(s.execute(sa.select(Order.id).where(Order.shopper_id == uid, Order.status.in_(statuses))
                                  .order_by(Order.id)).scalars())

    def act(self, action: tuple, ago: timedelta = timedelta(0)) -> None:
        name, uid = action[0], self.who(action[1])
        if name == "buy":
            pid = self.products[action[2]]
            with transaction(self.w.engine) as s:
                plans = s.get(Product, pid).plans
            self.do(lambda s: checkout.checkout(session=s, uid=uid, product_id=pid, plan=plans[action[3] % len(plans)],
                                                idempotency_key=self.key(), clock=self.clock))
        elif name == "top up":
            self.do(lambda s: wallet.topup(session=s, uid=uid, amount_fen=action[2], clock=self.clock))
        elif name == "repay":
            with transaction(self.w.engine) as s:
                first = s.execute(sa.select(Installment.id).where(Installment.shopper_id == uid,
                                                                  Installment.status.in_(IS.OPEN))
                                  .order_by(Installment.due_at, Installment.id)).scalars().first()
            if first is not None:
                self.do(lambda s: bills.repay(session=s, uid=uid, installment_id=first, clock=self.clock))
        elif name == "pay now":
            for oid in self.orders_of(uid, OS.IN_TRIAL)[:1]:
                self.do(lambda s: orders.pay_now(session=s, uid=uid, order_id=oid, clock=self.clock))
        elif name == "return":
            for oid in self.orders_of(uid, (OS.TRIAL,))[:1]:
                self._return(uid, oid, intact=action[2])
        elif name == "hardship":
            self._hardship(uid, n=action[2], waive=action[3])
        elif name == "close":
            self.do(lambda s: consent.close_bnpl(session=s, uid=uid, clock=self.clock))
        elif name == "autopay":
            self.do(lambda s: bills.set_autopay(
                session=s, uid=uid, days_before=action[2], clock=self.clock,
                method_order=[m.id for m in payments.methods_in_order(session=s, uid=uid)]))
        elif name == "method":
            self._method(uid, action[2], action[3])
        elif name in ("draw", "rent", "end rental"):
            self._other_kind(uid, action, ago)

    def _other_kind(self, uid: int, action: tuple, ago: timedelta) -> None:
        """A 备用金 draw, a rental or its end, as the product services write them (``tests/kinds.py``);
        what they refuse (no line, not enough limit or money) is an allowed outcome."""
        name = action[0]
        with transaction(self.w.engine) as s:
            methods = [m.id for m in payments.methods_in_order(session=s, uid=uid)]
            has_line = s.execute(sa.select(CashLine.id).where(CashLine.user_id == uid)).first() is not None
            rentals = list(s.execute(sa.select(Rental.id).where(Rental.shopper_id == uid, Rental.status == "RENTING")
                                     .order_by(Rental.id)).scalars())
        try:
            if name == "draw" and has_line and methods:
                kinds.cash_draw(self.w, uid, amount=action[2], term=action[3], card=methods[-1], ago=ago)
            elif name == "rent" and methods:
                deposit = 20_000
                kinds.rental(self.w, uid, self.merchants[action[2]], monthly=action[3], term=6, deposit=deposit,
                             waived=(deposit, deposit // 2, 0)[action[4]], deposit_method=methods[0], ago=ago)
            elif name == "end rental" and rentals:
                if action[2] == "buy out":
                    kinds.buy_out(self.w, rentals[0], method_id=methods[0])
                else:
                    kinds.return_rental(self.w, rentals[0], repair=15_000 if action[2] == "damaged" else 0)
        except (ValueError, DomainError, IndexError):
            pass

    def _method(self, uid: int, what: str, k: int) -> None:
        """A method unbound, or left out of (or put back into) auto-deduction: the columns as the
        wallet services write them (``removed_at``, ``autopay``)."""
        with transaction(self.w.engine) as s:
            ms = list(s.execute(sa.select(PaymentMethod).where(PaymentMethod.user_id == uid, PaymentMethod.removed_at.is_(None))
                                .order_by(PaymentMethod.priority, PaymentMethod.id)).scalars())
            if not ms:
                return
            m = ms[k % len(ms)]
            if what == "unbind":
                m.removed_at = self.clock.now()
            else:
                m.autopay = what == "autopay on"
            s.add(m)

    def legacy(self, picks: list[tuple[int, str]]) -> None:
        with transaction(self.w.engine) as s:
            ids = list(s.execute(sa.select(Installment.id).where(Installment.status.in_(IS.OPEN))
                                 .order_by(Installment.id)).scalars())
            for k, how in picks:
                if not ids:
                    return
                values = dict(noticed_at=None, notices_sent=0) if how == "never told" else \
                    dict(noticed_at=self.clock.now() - POLICY.min_notice / 2, notices_sent=rules.ALL_NOTICES)
                s.execute(sa.update(Installment.__table__).where(Installment.__table__.c.id == ids[k % len(ids)])
                          .values(**values))

    def _return(self, uid: int, oid: int, *, intact: bool) -> None:
        ret = self.do(lambda s: orders.request_return(session=s, uid=uid, order_id=oid, tracking_no="SF1234567890",
                                                      clock=self.clock))
        if ret is None:
            return
        self.do(lambda s: orders.mark_received(session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        if intact:
            self.do(lambda s: orders.accept_return(session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        else:  # the trial resumes now: if it has ended, the schedule moves by the days it was paused
            self.w.clock.advance(timedelta(hours=30))
            self.do(lambda s: orders.reject_return(session=s, merchant_id=ret.merchant_id, return_id=ret.id,
                                                   reason="Screen cracked.", photos=[PHOTO], clock=self.clock))

    def _hardship(self, uid: int, *, n: int, waive: int) -> None:
        app = self.do(lambda s: applications.apply_hardship(
            session=s, uid=uid, reason_category="medical", statement="In hospital.", proposed_installments=n,
            request_fee_waiver=True, proofs=[PROOF], clock=self.clock))
        if app is not None:
            self.do(lambda s: applications.approve_hardship(
                session=s, operator_id=self.operator, application_id=app.id, clock=self.clock,
                waive_fen=min(waive, applications.hardship_late_fees(session=s, uid=uid)), installments=n))

    def upcoming(self) -> list:
        """When something next falls due, soonest first: trials' ends, deduction attempts, the
        notices before them, the moments a notice is old enough for its deduction."""
        now = self.clock.now()
        with transaction(self.w.engine) as s:
            ends = s.execute(sa.select(Order.trial_end_at).where(Order.status.in_(OS.IN_TRIAL))).scalars()
            attempts = list(s.execute(sa.select(Installment.attempt_at, Installment.noticed_at)
                                      .where(Installment.status.in_(IS.OPEN))))
        times = {*ends, *(a for a, _n in attempts)}
        times |= {a - timedelta(days=d) for a, _n in attempts if a is not None for d in POLICY.reminder_days_before}
        times |= {n + POLICY.min_notice for _a, n in attempts if n is not None}
        return sorted(t for t in times if t is not None and t > now)

    def move(self, how: tuple[str, int]) -> None:
        if how[0] == "advance":
            self.w.advance(hours=how[1])
        else:
            self.w.clock.advance(timedelta(hours=how[1]))
            run_sweep(engine=self.w.engine, clock=self.clock)


# ── comparing two databases ──────────────────────────────────────────────────────────────────
def _columns(table: str) -> list[str]:
    return [c.name for c in SQLModel.metadata.tables[table].columns]


def _natural(snap: dict[str, list[tuple]]) -> dict[str, object]:
    """The tables whose ids depend on the order of inserts, without those ids."""
    def rows(table):
        cols = _columns(table)
        return [dict(zip(cols, r)) for r in snap[table]]

    events = {e["id"]: (e["user_id"], e["at"], e["kind"], e["old_value"], e["new_value"], e["reason"])
              for e in rows("credit_events")}
    per_user: dict[int, list] = {}
    for eid in sorted(events):
        per_user.setdefault(events[eid][0], []).append(events[eid])

    def key(k: str) -> object:
        return ("limit", events[int(k[6:])]) if k.startswith("limit:") else k

    by_commit: dict[object, set] = {}  # the (user, topic) pairs of each transaction, in order
    for c in rows("changes"):
        by_commit.setdefault(c["created_at"], set()).add((c["user_id"] or 0, c["topic"]))

    def without(table, *drop):
        return sorted(repr(tuple(v for c, v in r.items() if c not in drop)) for r in rows(table))

    return {
        "credit_events": per_user,
        "postings": sorted(repr((key(p["posting_key"]), *(v for c, v in p.items() if c not in ("id", "posting_key"))))
                           for p in rows("postings")),
        "notifications": without("notifications", "id"),
        "outbox": without("outbox", "id"),
        "order_events": without("order_events", "id"),
        "changes": [sorted(pairs) for pairs in by_commit.values()],
    }


def assert_same(batch: dict[str, list[tuple]], reference: dict[str, list[tuple]]) -> None:
    natural_b, natural_r = _natural(batch), _natural(reference)
    for table in reference:
        if batch[table] == reference[table]:
            continue
        assert table in natural_r, f"table {table}: the set-based path wrote other rows than the per-row path\n" \
                                   f"batch:     {sorted(map(repr, set(batch[table]) - set(reference[table])))[:5]}\n" \
                                   f"reference: {sorted(map(repr, set(reference[table]) - set(batch[table])))[:5]}"
        assert natural_b[table] == natural_r[table], f"table {table} differs between the paths"


# ── the property ─────────────────────────────────────────────────────────────────────────────
def _compare(spec, timeline, final, engines) -> set[str]:
    """Build the world on in-memory SQLite, put it into both of ``engines(world engine)`` (the batch
    and the reference database), sweep each once, compare. Returns what the sweep did."""
    world = World(_engines()[0])
    b = Builder(world, spec)
    for acts, how in timeline:
        for a in acts:
            b.act(a)
        b.move(how)
    for k, amount in final["top_ups"]:
        b.do(lambda s, k=k, amount=amount: wallet.topup(session=s, uid=b.who(k), amount_fen=amount, clock=world.clock))
    # No sweep: what falls due by then meets the compared one.
    upcoming = b.upcoming()
    if upcoming:
        world.clock.set(upcoming[min(final["to"], len(upcoming) - 1)])
    world.clock.advance(timedelta(hours=final["hours"]))
    b.legacy(final["legacy"])
    batch_db, reference_db = engines(world.engine)
    before = snapshot(batch_db)
    assert snapshot(reference_db) == before

    now = world.clock.now()
    batch_report = run_sweep(engine=batch_db, clock=FixedClock(now), batch_size=final["batch_size"])
    sweep._BATCH_PATH = False
    try:
        reference_report = run_sweep(engine=reference_db, clock=FixedClock(now), batch_size=final["batch_size"])
    finally:
        sweep._BATCH_PATH = True
    after = snapshot(batch_db)
    assert batch_report == reference_report
    assert_same(after, snapshot(reference_db))
    return _what_happened(before, after, batch_report, now)


def _in_memory(world_engine):
    """The world's own in-memory database (batch) and a byte copy of it (reference)."""
    copy = _ENGINES[1]
    _copy(world_engine, copy)
    return world_engine, copy


def test_the_set_based_sweep_writes_exactly_what_the_per_row_sweep_writes(stateful_settings):
    @stateful_settings(max_examples=30)
    @given(spec=shoppers, timeline=steps, final=finals)
    def check(spec, timeline, final):
        for what in _compare(spec, timeline, final, _in_memory):
            SEEN[what] += 1
            event(what)

    SEEN.clear()
    check()
    print(f"\nthe compared sweeps did (in so many examples): {dict(SEEN)}")
    assert SEEN["captured"] and SEEN["failed"], f"the worlds drawn never made the compared sweep work: {SEEN}"


def test_cash_and_rent_installments_are_written_the_same_by_both_paths():
    """A fixed world (the random ones reach a 备用金 or rent installment's due date only sometimes):
    a 备用金 draw and a rent captured, a rent that fails, swept one at a time and in one batch."""
    spec = [dict(score=720, wallet=400_000, card=None, card_first=False, autopay=0, orders=[(0, 0)], line=(50_000, 3),
                 rental=(0, 20_000, 0)),
            dict(score=660, wallet=0, card=0, card_first=True, autopay=0, orders=[(1, 1)], line=(30_000, 6),
                 rental=(1, 10_000, 2)),
            dict(score=760, wallet=0, card=None, card_first=False, autopay=2, orders=[], line=None, rental=(0, 5_000, 0))]
    for batch_size in (1, 4_000):
        done = _compare(spec, [([], ("advance", 48))], dict(top_ups=[], to=2, hours=0, batch_size=batch_size, legacy=[]),
                        _in_memory)
        assert {"captured cash", "captured rent", "failed rent"} <= done, done


def test_an_overdue_cash_month_is_retried_and_accrues_interest_the_same_by_both_paths():
    """A 备用金 month missed (the card it was paid to left out of auto-deduction, the wallet empty),
    some days overdue: its retry fails (the notice names the interest rule) and its overdue interest
    grows, or, topped up, it is taken with that interest — the same on both paths."""
    spec = [dict(score=720, wallet=0, card=0, card_first=False, autopay=0, orders=[], line=(60_000, 3), rental=None)]
    timeline = [([("method", 0, "autopay off", 1)], ("advance", 24 * 8))]
    for top_ups, want in (([], {"failed cash", "overdue interest", "notice failed"}),
                            ([(0, 100_000)], {"captured cash", "captured with overdue interest"})):
        for batch_size in (1, 4_000):
            done = _compare(spec, timeline, dict(top_ups=top_ups, to=0, hours=0, batch_size=batch_size, legacy=[]),
                            _in_memory)
            assert want <= done, done


def _fill(src, dst) -> None:
    """Every row of ``src`` into the (migrated, PostgreSQL) ``dst``, its sequences after them."""
    with dst.begin() as d:
        for table in reversed(SQLModel.metadata.sorted_tables):
            d.execute(table.delete())
    with src.connect() as c, dst.begin() as d:
        for table in SQLModel.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in c.execute(sa.select(table))]
            if rows:
                d.execute(table.insert(), rows)
            if "id" in table.c:
                d.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))


if pg_url():
    @pytest.mark.pg
    def test_the_set_based_sweep_writes_exactly_what_the_per_row_sweep_writes_on_postgresql(stateful_settings):
        """The same on PostgreSQL (the set-based writes have their dialect's SQL): each world is built
        on SQLite as above and copied into two private scratch databases (``helpers.pg_scratch_engine``)."""
        with pg_scratch_engine("paths_a") as batch_db, pg_scratch_engine("paths_b") as reference_db:
            def on_postgresql(world_engine):
                _fill(world_engine, batch_db)
                _fill(world_engine, reference_db)
                return batch_db, reference_db

            @stateful_settings(max_examples=12)
            @given(spec=shoppers, timeline=steps, final=finals)
            def check(spec, timeline, final):
                _compare(spec, timeline, final, on_postgresql)

            check()


def _what_happened(before: dict, after: dict, report, now) -> set[str]:
    """What the compared sweep did, for the coverage printed at the end (``-s``)."""
    done = {k.replace("_", " ") if k == "overdue_interest" else k
            for k in ("captured", "failed", "billed", "late_fees", "penalized", "notices", "overdue_interest")
            if getattr(report, k)}
    cols = _columns("notifications")
    new = [dict(zip(cols, r)) for r in set(after["notifications"]) - set(before["notifications"])]
    done |= {f"notice {n['kind']}" for n in new}
    if report.failed > sum(n["kind"] == "failed" for n in new):
        done.add("retry already told")
    cols = _columns("installments")
    was = {r[0]: dict(zip(cols, r)) for r in before["installments"]}
    kind_of = {o["id"]: o["kind"] for o in (dict(zip(_columns("orders"), r)) for r in after["orders"])}
    for r in after["installments"]:
        i = dict(zip(cols, r))
        old = was.get(i["id"])
        if old and i["status"] == IS.PAID != old["status"]:
            done.add(f"captured {kind_of[i['order_id']]}")
            if i["overdue_interest_fen"]:
                done.add("captured with overdue interest")
        if old and i["attempts"] > old["attempts"]:
            done.add(f"failed {kind_of[i['order_id']]}")
        if i != was.get(i["id"]) and i["due_at"] > now and (i["status"] == IS.PAID or i["attempts"] > was[i["id"]]["attempts"]):
            done.add("early attempt")
        if i["plan_application_id"] is not None and i["status"] == IS.PAID != was[i["id"]]["status"]:
            done.add("hardship plan paid")
        old = was.get(i["id"])
        if old and old["status"] in IS.OPEN and old["attempt_at"] is not None and old["attempt_at"] <= now \
                and i["status"] == old["status"] and i["attempts"] == old["attempts"]:
            done.add("gated: due but not told long enough")
    return done
