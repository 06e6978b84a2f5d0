"""Random lives of a small platform — 4 shoppers, 2 shops, 1 operator, a clock that jumps — checked
after every step: the consistency audit is clean, available ≥ 0, a PAID installment stays paid
exactly as it was paid, and every order's status agrees with its installments.

Every action goes through the services exactly as the app calls them: one transaction per action.
Domain errors (``DomainError`` subclasses: refusals the app shows to people) are allowed
outcomes; any other exception fails the test. Settings and the CI profile: see conftest.py.
Run with ``-s`` to see how often each action succeeded or was refused (a coverage check)."""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import timedelta

import hypothesis.core
import pytest
import sqlalchemy as sa
from hypothesis import event, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlmodel import SQLModel

from bnpl_app.db import transaction
from bnpl_app.domain.errors import DomainError, NotEligible, TermsChanged
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    Application,
    CashDraw,
    CashLine,
    CreditAccount,
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Order,
    OrderKind,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    Rental,
    ReturnRequest,
)
from bnpl_app.services import (applications, bills, cash, checkout, consent, credit, merchant, orders, payments, rental,
                               wallet)
from bnpl_app.services.audit import run_audit
from bnpl_app.jobs.sweep import next_event_after, run_sweep
from bnpl_app.services.uploads import StoredFile
import kinds
from helpers import World, memory_engine, pg_url

PHOTO = ("0123456789abcdef0123456789abcdef.jpg", "image/jpeg", 2_048)
PROOF = StoredFile("fedcba9876543210fedcba9876543210.pdf", "application/pdf", 4_096, "repayment-voucher.pdf")
PLANS = list(POLICY.plans)
OUTCOMES: Counter = Counter()  # action → outcome counts, printed by -s runs for a coverage check
STEPS = Counter()  # steps checked by the invariant (the deep profile runs until it has enough)
LIVE = lambda st_: st_ not in (IS.REPLACED, IS.CANCELLED)  # noqa: E731


def _wipe(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


_MEMORY: list = []


def clean_memory_engine():
    """An empty in-memory SQLite database for each example. One engine serves every example (its
    rows deleted in between): SQLAlchemy caches compiled SQL per engine, and compiling afresh for
    each example would cost more than the example itself."""
    if not _MEMORY:
        _MEMORY.append(memory_engine())
    else:
        _wipe(_MEMORY[0])
    return _MEMORY[0]


class BnplMachine(RuleBasedStateMachine):
    """``engine_factory`` gives a clean, empty schema for each example."""

    engine_factory = staticmethod(clean_memory_engine)

    def __init__(self) -> None:
        super().__init__()
        self.world = World(self.engine_factory())
        self.keys: dict[str, tuple[int, int, str, int]] = {}  # key → (uid, product, plan, order id)
        self.listings: dict[tuple[int, int], int] = {}  # (shop, monthly rent) → the listing
        self.paid: dict[int, tuple] = {}  # installment → how it was paid, which must never change
        self._n = 0

    def _new_key(self) -> str:
        self._n += 1  # deterministic, so a failing example replays exactly
        return f"checkout-key-{self._n:04d}"

    # ── the cast ─────────────────────────────────────────────────────────────────────────────────
    @initialize(history_days=st.sampled_from([0, 4, 12, 33]))
    def cast(self, history_days) -> None:
        w = self.world
        self.merchants = [w.merchant(), w.merchant(shop_cap_fen=120_000)]
        self.products = [
            w.product(self.merchants[0], price_fen=9_900, trial_days=7, plans="full,3,6,12"),
            w.product(self.merchants[0], price_fen=29_900, trial_days=3, plans="full,3", interest_free=True),
            w.product(self.merchants[1], price_fen=45_000, trial_days=14, plans="6,12", stock=3),
            w.product(self.merchants[1], price_fen=4_500, trial_days=1, plans="full", bnpl=False),
        ]
        self.allowed = {}
        for pid in self.products:
            with w.tx() as s:
                self.allowed[pid] = s.get(Product, pid).allowed_plans.split(",")
        self.shoppers = [
            w.shopper(score=560, wallet_fen=20_000),  # the ¥500 band
            w.shopper(score=620, wallet_fen=0),  # pays late unless topped up
            w.shopper(score=710, wallet_fen=300_000),
            w.shopper(score=760, wallet_fen=5_000),
        ]
        with w.tx() as s:
            wallet.add_card(session=s, uid=self.shoppers[3], bank="CMB", last4="8888", balance_fen=90_000, clock=w.clock)
        for uid in self.shoppers[1:]:  # the scores a 备用金 line needs (policy: ≥ 600)
            kinds.cash_line(w, uid, line_fen=POLICY.cash_line_for(620 if uid == self.shoppers[1] else 710))
        self.operator = w.operator()
        for uid, pid, plan in zip(self.shoppers, self.products, ("full", "3", "12", "full")):
            if pid == self.products[3]:
                pid = self.products[0]
            key = self._new_key()
            self.keys[key] = (uid, pid, plan, w.buy(uid, pid, plan=plan, key=key), self._terms(pid, plan))
        # Start some lives with a past: trials over, bills paid or overdue. The long past is one
        # catch-up sweep (as after a sweep outage), which is also a path worth checking.
        if history_days >= POLICY.suspend_after_days:
            w.clock.advance(timedelta(days=history_days))
            run_sweep(engine=w.engine, clock=w.clock)
        elif history_days:
            w.advance(days=history_days)

    # ── plumbing ─────────────────────────────────────────────────────────────────────────────────
    def _do(self, name: str, fn):
        """One action in one transaction; a domain error rolls it back and is an allowed outcome."""
        try:
            with transaction(self.world.engine) as s:
                out = fn(s)
        except DomainError as exc:
            event(f"{name}: {type(exc).__name__}")
            OUTCOMES[(name, type(exc).__name__)] += 1
            return exc
        event(f"{name}: ok")
        OUTCOMES[(name, "ok")] += 1
        return out

    def _rows(self, *cols, where=None):
        q = sa.select(*cols)
        if where is not None:
            q = q.where(where)
        with transaction(self.world.engine) as s:
            return s.execute(q.order_by(cols[0])).all()

    def _pick(self, data, rows, label: str, good=None):
        """Mostly a row the action makes sense for (``good``), sometimes any row at all."""
        if not rows:
            return None
        fitting = [r for r in rows if good is None or good(r)]
        if fitting and data.draw(st.integers(0, 4), label=f"{label} fits") != 0:
            rows = fitting
        return data.draw(st.sampled_from(rows), label=label)

    @property
    def clock(self):
        return self.world.clock

    # ── shoppers ─────────────────────────────────────────────────────────────────────────────────
    def _terms(self, pid: int, plan: str):
        """The quote the confirm screen would show now (None: the plan is not on offer)."""
        with transaction(self.world.engine) as s:
            return checkout.offered(product=s.get(Product, pid), plan=plan)

    @rule(data=st.data())
    def buy(self, data) -> None:
        reuse = bool(self.keys) and data.draw(st.integers(0, 3), label="reuse key") == 0
        if reuse:
            key = data.draw(st.sampled_from(sorted(self.keys)), label="key")
            same = data.draw(st.booleans(), label="same request")
            uid, pid, plan, oid, terms = self.keys[key]
            if not same:
                uid = data.draw(st.sampled_from(self.shoppers), label="shopper")
                pid = data.draw(st.sampled_from(self.products), label="product")
                plan = data.draw(st.sampled_from(PLANS), label="plan")
                terms = self._terms(pid, plan)
        else:
            key = self._new_key()
            uid = data.draw(st.sampled_from(self.shoppers), label="shopper")
            pid = data.draw(st.sampled_from(self.products), label="product")
            plans = self.allowed[pid] if data.draw(st.integers(0, 4), label="allowed plan") else PLANS
            plan = data.draw(st.sampled_from(plans), label="plan")
            terms = self._terms(pid, plan)
        out = self._do("checkout" + (" replay" if reuse else ""), lambda s: checkout.checkout(
            session=s, uid=uid, product_id=pid, plan=plan, terms=terms, idempotency_key=key, clock=self.clock).id)
        if reuse:
            was = self.keys[key]
            if was[:3] == (uid, pid, plan) and was[4] == terms:
                assert out == was[3], f"replaying key {key} gave {out!r}, not order {was[3]}"
            else:
                assert isinstance(out, DomainError), f"key {key} reused with other terms gave {out!r}"
        elif isinstance(out, int):
            self.keys[key] = (uid, pid, plan, out, terms)

    @rule(data=st.data(), price=st.sampled_from([None, None, 4_500, 9_900, 10_900, 29_900, 45_000, 61_000]))
    def price_edited_between_quote_and_confirm(self, data, price) -> None:
        """The shopper sees a quote; the merchant changes the price; the shopper confirms what they
        saw. Either the order is exactly the quote, or it is refused naming the change and nothing
        is created — never an order at a price nobody saw."""
        uid = data.draw(st.sampled_from(self.shoppers), label="shopper")
        pid = data.draw(st.sampled_from(self.products), label="product")
        plan = data.draw(st.sampled_from(self.allowed[pid]), label="plan")
        shown = self._terms(pid, plan)
        if shown is None:
            return
        price = shown.price_fen if price is None else price  # None: the merchant saves without changing it

        def edit(s):
            p = s.get(Product, pid)
            return merchant.edit_product(session=s, merchant_id=p.merchant_id, product_id=pid, price_fen=price,
                                         clock=self.clock)

        self._do("edit price", edit)
        before = len(self._rows(Order.id))
        key = self._new_key()
        out = self._do("checkout after edit", lambda s: checkout.checkout(
            session=s, uid=uid, product_id=pid, plan=plan, terms=shown, idempotency_key=key, clock=self.clock))
        if isinstance(out, DomainError):
            assert len(self._rows(Order.id)) == before, "a refused checkout left an order behind"
            if price != shown.price_fen:
                assert isinstance(out, (TermsChanged, NotEligible)), out
            return
        assert price == shown.price_fen, f"ordered although the price moved from {shown.price_fen} to {price}"
        with transaction(self.world.engine) as s:
            o = s.get(Order, out.id)
            assert (o.price_fen, checkout.Terms.from_json(o.quote_json)) == (shown.price_fen, shown)
        self.keys[key] = (uid, pid, plan, out.id, shown)

    @rule(data=st.data())
    def cart_with_a_failing_line(self, data) -> None:
        """Two lines confirmed together, the first refused (its product out of stock or off
        先用后付), the second ordered; confirmed again with the same keys: still one order, the
        refused line still refused."""
        uid = data.draw(st.sampled_from(self.shoppers), label="shopper")
        bad, good = self.products[3], data.draw(st.sampled_from(self.products[:3]), label="good product")
        plan = data.draw(st.sampled_from(self.allowed[good]), label="plan")
        lines = [(bad, "full", self._terms(bad, "full") or self._terms(self.products[0], "full"), self._new_key()),
                 (good, plan, self._terms(good, plan), self._new_key())]
        before = len(self._rows(Order.id))
        first = [self._do("cart line", lambda s, ln=ln: checkout.checkout(
            session=s, uid=uid, product_id=ln[0], plan=ln[1], terms=ln[2], idempotency_key=ln[3], clock=self.clock).id)
            for ln in lines]
        again = [self._do("cart line again", lambda s, ln=ln: checkout.checkout(
            session=s, uid=uid, product_id=ln[0], plan=ln[1], terms=ln[2], idempotency_key=ln[3], clock=self.clock).id)
            for ln in lines]
        made = [o for o in first if isinstance(o, int)]
        for was, now in zip(first, again):
            if isinstance(was, int):
                assert now == was, f"a line ordered as {was} was ordered again as {now!r}"
        assert len(self._rows(Order.id)) == before + len(made) + sum(
            isinstance(n, int) and not isinstance(w, int) for w, n in zip(first, again))

    @rule(data=st.data(), as_owner=st.integers(0, 9))
    def request_return(self, data, as_owner) -> None:
        o = self._pick(data, self._rows(Order.id, Order.shopper_id, Order.status), "order",
                       lambda r: r.status == OS.TRIAL)
        if o is None:
            return
        uid = o.shopper_id if as_owner else data.draw(st.sampled_from(self.shoppers), label="someone")
        tracking = data.draw(st.sampled_from(["SF1234567890", "YT88889999", "JD0001", "SF77", "bad no!"]),
                             label="tracking")
        self._do("request return", lambda s: orders.request_return(
            session=s, uid=uid, order_id=o.id, tracking_no=tracking, clock=self.clock))

    @rule(data=st.data())
    def pay_now(self, data) -> None:
        o = self._pick(data, self._rows(Order.id, Order.shopper_id, Order.status), "order",
                       lambda r: r.status in OS.IN_TRIAL)
        if o is not None:
            out = self._do("pay now", lambda s: orders.pay_now(session=s, uid=o.shopper_id, order_id=o.id, clock=self.clock))
            assert isinstance(out, DomainError) or out.status == OS.PAID, out

    @rule(data=st.data(), intact=st.booleans())
    def pay_now_then_return(self, data, intact) -> None:
        """Paying early never costs the right to return within the trial: accepted, every captured
        fen goes back to the method it came from (the audit checks refunds = captures)."""
        now = self.clock.now()
        sent_back = {oid for (oid,) in self._rows(ReturnRequest.order_id)}  # one return per order
        o = self._pick(data, self._rows(Order.id, Order.shopper_id, Order.status, Order.trial_end_at), "order",
                       lambda r: r.status == OS.TRIAL and r.trial_end_at > now and r.id not in sent_back)
        if o is None or o.id in sent_back:
            return
        paid = self._do("pay now", lambda s: orders.pay_now(session=s, uid=o.shopper_id, order_id=o.id, clock=self.clock))
        if isinstance(paid, DomainError):
            return
        before = dict(self._rows(PaymentMethod.id, PaymentMethod.balance_fen,
                                 where=PaymentMethod.user_id == o.shopper_id))
        ret = self._do("request return", lambda s: orders.request_return(
            session=s, uid=o.shopper_id, order_id=o.id, tracking_no="SF1234567890", clock=self.clock))
        assert not isinstance(ret, DomainError), f"a paid order in its trial could not be returned: {ret!r}"
        self._do("mark received", lambda s: orders.mark_received(
            session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        if not intact:
            self._do("reject return", lambda s: orders.reject_return(
                session=s, merchant_id=ret.merchant_id, return_id=ret.id, reason="Screen cracked, box wet.",
                photos=[PHOTO], clock=self.clock))
            return
        self._do("accept return", lambda s: orders.accept_return(
            session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        after = dict(self._rows(PaymentMethod.id, PaymentMethod.balance_fen, where=PaymentMethod.user_id == o.shopper_id))
        back = sum(after.values()) - sum(before.values())
        price = self._rows(Order.price_fen, Order.status, where=Order.id == o.id)[0]
        assert (back, price.status) == (price.price_fen, OS.RETURNED), (back, price)

    @rule(data=st.data(), exact=st.booleans())
    def repay_installment(self, data, exact) -> None:
        i = self._pick(data, self._rows(Installment.id, Installment.shopper_id, Installment.status), "installment",
                       lambda r: r.status in IS.OPEN)
        if i is None:
            return

        def go(s):
            inst = s.get(Installment, i.id)
            expected = payments.owed(inst) if exact else None
            return bills.repay(session=s, uid=i.shopper_id, installment_id=i.id, expected_fen=expected, clock=self.clock)

        self._do("repay", go)

    @rule(data=st.data())
    def early_repay(self, data) -> None:
        o = self._pick(data, self._rows(Order.id, Order.shopper_id, Order.status), "order",
                       lambda r: r.status in OS.BILLED)
        if o is not None:
            self._do("early repay", lambda s: bills.early_repay(session=s, uid=o.shopper_id, order_id=o.id, clock=self.clock))

    @rule(uid_i=st.integers(0, 3), amount=st.integers(1, 150_000))
    def top_up(self, uid_i, amount) -> None:
        self._do("top up", lambda s: wallet.topup(session=s, uid=self.shoppers[uid_i], amount_fen=amount, clock=self.clock))

    @rule(uid_i=st.integers(0, 3), apply=st.booleans())
    def pay_off_everything(self, uid_i, apply) -> None:
        """The journey before a restoration application: top up what is owed, repay every bill,
        then (maybe) apply to have the limit restored."""
        uid = self.shoppers[uid_i]
        open_ = self._rows(Installment.id, where=(Installment.shopper_id == uid) & Installment.status.in_(IS.OPEN))
        if not open_:
            return

        def owed(s):
            return sum(payments.owed(i) for i in s.execute(
                sa.select(Installment).where(Installment.shopper_id == uid, Installment.status.in_(IS.OPEN))).scalars())

        self._do("top up", lambda s: wallet.topup(session=s, uid=uid, amount_fen=owed(s), clock=self.clock))
        for (iid,) in open_:
            self._do("repay", lambda s: bills.repay(session=s, uid=uid, installment_id=iid, clock=self.clock))
        if apply:
            self._restore(uid)

    @rule(uid_i=st.integers(0, 3), close=st.booleans(), accept=st.integers(0, 4))
    def close_or_reopen(self, uid_i, close, accept) -> None:
        """Closing works in every status; reopening needs the current terms accepted again (and
        records them), and never lifts a suspension by the back door."""
        uid = self.shoppers[uid_i]
        acct = lambda: self._rows(CreditAccount.bnpl_status, CreditAccount.terms_accepted_at,  # noqa: E731
                                  where=CreditAccount.user_id == uid)[0]
        was = acct()
        if close:
            out = self._do("close", lambda s: consent.close_bnpl(session=s, uid=uid, clock=self.clock))
            assert acct().bnpl_status == "closed", f"closing from {was.bnpl_status} gave {out!r}"
            return
        out = self._do("reopen", lambda s: consent.open_bnpl(
            session=s, uid=uid, accept_terms=bool(accept), terms_version=POLICY.terms_version, clock=self.clock))
        now = acct()
        if isinstance(out, DomainError):
            assert now == was, "a refused reopening changed the account"
        else:
            assert accept and now.bnpl_status == "active" and now.terms_accepted_at == self.clock.now(), now

    @rule(uid_i=st.integers(0, 3), days=st.integers(0, 3), reverse=st.booleans())
    def set_autopay(self, uid_i, days, reverse) -> None:
        uid = self.shoppers[uid_i]

        def go(s):
            ids = [m.id for m in payments.methods_in_order(session=s, uid=uid)]
            return bills.set_autopay(session=s, uid=uid, days_before=days, method_order=ids[::-1] if reverse else ids,
                                     clock=self.clock)

        self._do("autopay", go)

    @rule(data=st.data())
    def closed_shopper_restored(self, data) -> None:
        """A shopper whose limit was cut closes 先用后付 (in any status, suspended included), applies
        for restoration and is approved: the limit comes back, the status stays closed."""
        a = self._pick(data, self._rows(CreditAccount.user_id, CreditAccount.restorable_limit_fen), "shopper",
                       lambda r: r.restorable_limit_fen is not None)
        if a is None or a.restorable_limit_fen is None:
            return
        uid = a.user_id
        closed = self._do("close", lambda s: consent.close_bnpl(session=s, uid=uid, clock=self.clock))
        status = lambda: self._rows(CreditAccount.bnpl_status, where=CreditAccount.user_id == uid)[0][0]  # noqa: E731
        if isinstance(closed, DomainError):
            assert status() == "closed", f"closing failed ({closed!r}) while 先用后付 was {status()}"
        self.pay_off_everything(self.shoppers.index(uid), apply=False)
        app = self._do("apply restoration", lambda s: applications.apply_restoration(
            session=s, uid=uid, statement="All repaid.", proofs=[PROOF], clock=self.clock))
        if isinstance(app, DomainError):
            return
        self._decide(data, app.id, app.kind, uid, "approve")
        assert status() == "closed", f"a restoration turned 先用后付 back on for a shopper who closed it: {status()}"

    def _restore(self, uid: int) -> None:
        self._do("apply restoration", lambda s: applications.apply_restoration(
            session=s, uid=uid, statement="All repaid, voucher attached.", proofs=[PROOF], clock=self.clock))

    @rule(data=st.data())
    def apply_restoration(self, data) -> None:
        a = self._pick(data, self._rows(CreditAccount.user_id, CreditAccount.restorable_limit_fen), "shopper",
                       lambda r: r.restorable_limit_fen is not None)
        self._restore(a.user_id)

    @rule(data=st.data(), n=st.integers(0, 30), waiver=st.booleans(),
          reason=st.sampled_from(["medical", "unemployment", "other"]))
    def apply_hardship(self, data, n, waiver, reason) -> None:
        overdue = {u for (u,) in self._rows(Installment.shopper_id, where=Installment.status == IS.OVERDUE)}
        uid = self._pick(data, self.shoppers, "shopper", lambda u: u in overdue)
        self._do("apply hardship", lambda s: applications.apply_hardship(
            session=s, uid=uid, reason_category=reason, statement="Lost my job.", proposed_installments=n,
            request_fee_waiver=waiver, proofs=[PROOF], clock=self.clock))

    # ── other kinds on the same engine: 备用金 draws and device rentals ─────────────────────────────
    # The helper layer: one action of a person on a contract of another kind, in one transaction,
    # returning what it made or the refusal (as ``_do`` does; a refusal is an allowed outcome), through
    # the product services (services/cash.py, services/rental.py) as their screens call them; the
    # audit runs after every step. Repayments of every kind are the rules above
    # (``repay_installment``, ``pay_off_everything``, the sweep).
    def _draw(self, uid: int, *, amount: int, term: int, to_shop: bool):
        """A 备用金 draw through the service (``cash.draw`` on the terms on offer): to the shopper's
        last bound card, or spent on a product (an ordinary purchase of its price)."""
        methods = self._rows(PaymentMethod.id, where=(PaymentMethod.user_id == uid) & PaymentMethod.removed_at.is_(None)
                             & (PaymentMethod.kind == "card"))
        key = self._new_key()
        if to_shop:
            return self._do("draw to shop", lambda s: cash.draw(
                session=s, uid=uid, amount_fen=amount, term=term, dest="shop", product_id=self.products[1],
                idempotency_key=key, clock=self.clock))
        return self._do("draw to card", lambda s: cash.draw(
            session=s, uid=uid, amount_fen=amount, term=term, dest="card", idempotency_key=key, clock=self.clock,
            method_id=methods[-1].id if methods else -1))

    def _listing(self, merchant_id: int, monthly: int) -> int:
        """A device the shop lists for rent (``rental.create_listing``), one per shop and rent."""
        key = (merchant_id, monthly)
        if key not in self.listings:
            with transaction(self.world.engine) as s:
                self.listings[key] = rental.create_listing(
                    session=s, merchant_id=merchant_id, clock=self.clock, name=f"Phone {monthly}", monthly_rent_fen=monthly,
                    terms="6,12", deposit_fen=30_000, buyout_fen=monthly * 2, damage_rules="Screen: repair at cost.",
                    stock=5).id
        return self.listings[key]

    def _rent(self, uid: int, merchant_id: int, *, monthly: int, term: int, deliver: bool):
        """The shopper accepts the contract on offer (the credit review decides the deposit: waived,
        half or paid), then the shop delivers the device with its serial (the rent starts)."""
        lid, key = self._listing(merchant_id, monthly), self._new_key()

        def accept(s):
            q = rental.quote(session=s, uid=uid, listing_id=lid, term=term)
            if q.contract is None:
                raise NotEligible([])
            return rental.accept(session=s, uid=uid, listing_id=lid, term=term, contract=q.contract, idempotency_key=key,
                                 clock=self.clock, method_id=q.method.id if q.method is not None else None).id
        rid = self._do("rent", accept)
        if deliver and isinstance(rid, int):
            self._do("deliver rental", lambda s: rental.deliver(session=s, merchant_id=merchant_id, rental_id=rid,
                                                                serial=f"SN{rid:06d}", clock=self.clock))
        return rid

    def _end_rental(self, rental_id: int, how: str):
        """Bought out, cancelled before delivery, or sent back: received and inspected intact, damaged
        (photos, a repair charge), or left to the inspection deadline (the sweep accepts it)."""
        r = self._rows(Rental.shopper_id, Rental.merchant_id, where=Rental.id == rental_id)[0]
        uid, mid = r.shopper_id, r.merchant_id
        if how == "buy out":
            return self._do("buy out", lambda s: rental.buyout(session=s, uid=uid, rental_id=rental_id, clock=self.clock))
        if how == "cancel":
            return self._do("cancel rental", lambda s: rental.cancel(session=s, uid=uid, rental_id=rental_id, clock=self.clock))
        if isinstance(self._do("return rental", lambda s: rental.request_return(
                session=s, uid=uid, rental_id=rental_id, tracking_no=f"SF{rental_id:08d}", clock=self.clock)), DomainError):
            return None
        self._do("receive rental", lambda s: rental.mark_received(session=s, merchant_id=mid, rental_id=rental_id,
                                                                  clock=self.clock))
        if how == "intact":
            return self._do("inspect rental intact", lambda s: rental.accept_return(
                session=s, merchant_id=mid, rental_id=rental_id, clock=self.clock))
        if how == "damaged":
            return self._do("inspect rental damaged", lambda s: rental.reject_return(
                session=s, merchant_id=mid, rental_id=rental_id, reason="Cracked screen.", repair_fen=12_000,
                photos=[PHOTO], clock=self.clock))
        return None  # "silent": the shop never inspects; the sweep accepts it at the deadline

    @rule(data=st.data(), amount=st.integers(10_000, 120_000), term=st.sampled_from(POLICY.cash_terms),
          to_shop=st.booleans())
    def draw_cash(self, data, amount, term, to_shop) -> None:
        uid = data.draw(st.sampled_from(self.shoppers), label="borrower")
        self._draw(uid, amount=amount, term=term, to_shop=to_shop)

    @rule(data=st.data(), months=st.integers(1, 12))
    def repay_cash_early(self, data, months) -> None:
        """Early repayment of a draw (``cash.early_repay``): the last ``months`` open months, or all,
        on the quote the screen would show."""
        draws = self._rows(CashDraw.id, CashDraw.user_id)
        if not draws:
            return
        d = data.draw(st.sampled_from(draws), label="draw")

        def go(s):
            options = cash.early_options(session=s, uid=d.user_id, draw_id=d.id, clock=self.clock)
            if not options:
                return None
            amount = options[min(months, len(options)) - 1]
            q = cash.early_quote(session=s, uid=d.user_id, draw_id=d.id, amount_fen=amount, clock=self.clock)
            return cash.early_repay(session=s, uid=d.user_id, draw_id=d.id, amount_fen=amount, clock=self.clock,
                                    expected_total_fen=q.total_fen, expected_saving_fen=q.saving_fen)
        self._do("repay cash early", go)

    @rule(data=st.data(), monthly=st.sampled_from([1_000, 9_900, 30_000]), term=st.sampled_from(POLICY.rental_terms),
          deliver=st.integers(0, 4))
    def rent_device(self, data, monthly, term, deliver) -> None:
        uid = data.draw(st.sampled_from(self.shoppers), label="renter")
        self._rent(uid, data.draw(st.sampled_from(self.merchants), label="shop"), monthly=monthly, term=term,
                   deliver=deliver != 0)

    @rule(data=st.data())
    def deliver_rental(self, data) -> None:
        waiting = self._rows(Rental.id, Rental.merchant_id, where=Rental.status == "AWAITING_DELIVERY")
        if waiting:
            r = data.draw(st.sampled_from(waiting), label="rental")
            self._do("deliver rental", lambda s: rental.deliver(session=s, merchant_id=r.merchant_id, rental_id=r.id,
                                                                serial=f"SN{r.id:06d}", clock=self.clock))

    @rule(data=st.data(), how=st.sampled_from(["intact", "damaged", "silent", "buy out", "cancel"]))
    def end_rental(self, data, how) -> None:
        """A rental ends: any rental at all (the service refuses what its state does not allow)."""
        r = self._pick(data, self._rows(Rental.id, Rental.status), "rental",
                       good=lambda r: r.status == ("AWAITING_DELIVERY" if how == "cancel" else "RENTING"))
        if r is not None:
            self._end_rental(r.id, how)

    # ── merchants ────────────────────────────────────────────────────────────────────────────────
    @rule(data=st.data(), own=st.integers(0, 9))
    def mark_received(self, data, own) -> None:
        r = self._pick(data, self._rows(ReturnRequest.id, ReturnRequest.merchant_id, ReturnRequest.status), "return",
                       lambda r: r.status == "IN_TRANSIT")
        if r is None:
            return
        mid = r.merchant_id if own else data.draw(st.sampled_from(self.merchants), label="merchant")
        self._do("mark received", lambda s: orders.mark_received(session=s, merchant_id=mid, return_id=r.id, clock=self.clock))

    @rule(data=st.data(), intact=st.booleans())
    def inspect(self, data, intact) -> None:
        r = self._pick(data, self._rows(ReturnRequest.id, ReturnRequest.merchant_id, ReturnRequest.status), "return",
                       lambda r: r.status == "RECEIVED")
        if r is None:
            return
        if intact:
            self._do("accept return", lambda s: orders.accept_return(
                session=s, merchant_id=r.merchant_id, return_id=r.id, clock=self.clock))
        else:
            self._do("reject return", lambda s: orders.reject_return(
                session=s, merchant_id=r.merchant_id, return_id=r.id, reason="Screen cracked, box wet.", photos=[PHOTO],
                clock=self.clock))

    @rule(data=st.data(), intact=st.booleans())
    def return_journey(self, data, intact) -> None:
        """A prompt return: requested, received and inspected before time moves on."""
        o = self._pick(data, self._rows(Order.id, Order.shopper_id, Order.status), "order",
                       lambda r: r.status == OS.TRIAL)
        if o is None:
            return
        ret = self._do("request return", lambda s: orders.request_return(
            session=s, uid=o.shopper_id, order_id=o.id, tracking_no="SF1234567890", clock=self.clock))
        if isinstance(ret, DomainError):
            return
        self._do("mark received", lambda s: orders.mark_received(
            session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        if intact:
            self._do("accept return", lambda s: orders.accept_return(
                session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=self.clock))
        else:
            self._do("reject return", lambda s: orders.reject_return(
                session=s, merchant_id=ret.merchant_id, return_id=ret.id, reason="Screen cracked, box wet.",
                photos=[PHOTO], clock=self.clock))

    @rule(p_i=st.integers(0, 3))
    def toggle_product_bnpl(self, p_i) -> None:
        pid = self.products[p_i]

        def go(s):
            p = s.get(Product, pid)
            return merchant.update_product(session=s, merchant_id=p.merchant_id, product_id=pid,
                                           bnpl_enabled=not p.bnpl_enabled, clock=self.clock)

        self._do("toggle product", go)

    # ── operator ─────────────────────────────────────────────────────────────────────────────────
    @rule(data=st.data(), verdict=st.sampled_from(["approve", "reject"]))
    def decide(self, data, verdict) -> None:
        a = self._pick(data, self._rows(Application.id, Application.kind, Application.shopper_id, Application.status),
                       "application", lambda r: r.status == "PENDING")
        if a is not None:
            self._decide(data, a.id, a.kind, a.shopper_id, verdict)

    def _decide(self, data, app_id: int, kind: str, uid: int, verdict: str) -> None:
        if verdict == "reject":
            self._do(f"reject {kind}", lambda s: applications.reject(
                session=s, operator_id=self.operator, application_id=app_id, reason="Proof unreadable.", clock=self.clock))
            return
        if kind == "restoration":
            def go(s):
                cap = s.execute(sa.select(CreditAccount.restorable_limit_fen)
                                .where(CreditAccount.user_id == uid)).scalar_one() or 0
                limit = data.draw(st.integers(0, cap + 1), label="limit")
                return applications.approve_restoration(session=s, operator_id=self.operator, application_id=app_id,
                                                        limit_fen=limit, clock=self.clock)
        else:
            def go(s):
                late = applications.hardship_late_fees(session=s, uid=uid)
                waive = data.draw(st.integers(0, late + 1), label="waive")
                n = data.draw(st.integers(1, 25), label="installments")
                return applications.approve_hardship(session=s, operator_id=self.operator, application_id=app_id,
                                                     waive_fen=waive, installments=n, clock=self.clock)
        self._do(f"approve {kind}", go)

    @rule(data=st.data(), verdict=st.sampled_from(["approve", "reject"]))
    def application_journey(self, data, verdict) -> None:
        """A shopper who qualifies applies (hardship when ≥ 30 days overdue, else restoration after
        paying everything off) and the operator decides at once."""
        now = self.clock.now()
        late = {u for (u, due) in self._rows(Installment.shopper_id, Installment.due_at,
                                             where=Installment.status == IS.OVERDUE)
                if (now - due) >= timedelta(days=POLICY.hardship_min_overdue_days)}
        cut = {u for (u,) in self._rows(CreditAccount.user_id, where=CreditAccount.restorable_limit_fen.is_not(None))}
        uid = self._pick(data, self.shoppers, "applicant", lambda u: u in late | cut)
        if uid in late:
            n = data.draw(st.integers(1, POLICY.hardship_max_installments), label="proposed")
            app = self._do("apply hardship", lambda s: applications.apply_hardship(
                session=s, uid=uid, reason_category="medical", statement="In hospital.", proposed_installments=n,
                request_fee_waiver=True, proofs=[PROOF], clock=self.clock))
        else:
            self.pay_off_everything(self.shoppers.index(uid), apply=False)
            app = self._do("apply restoration", lambda s: applications.apply_restoration(
                session=s, uid=uid, statement="All repaid.", proofs=[PROOF], clock=self.clock))
        if not isinstance(app, DomainError):
            self._decide(data, app.id, app.kind, uid, verdict)

    # ── time ─────────────────────────────────────────────────────────────────────────────────────
    @rule(hours=st.one_of(st.integers(1, 72), st.integers(1, 24 * 8),
                          st.sampled_from([24 * 4, 24 * 8, 24 * 31, 24 * 40]), st.integers(1, 40 * 24)))
    def advance_clock(self, hours) -> None:
        self.world.advance(hours=hours)  # runs every sweep that falls due in between, in order

    @rule(seconds=st.integers(1, 600))
    def sweep_seconds_after_the_next_instant(self, seconds) -> None:
        """Time as a real deployment lives it: the sweep wakes some seconds AFTER a due instant
        (a trial's end, a notice's moment, an attempt), never exactly at it."""
        with transaction(self.world.engine) as s:
            nxt = next_event_after(s, self.clock.now())
        if nxt is not None:
            self.clock.set(nxt + timedelta(seconds=seconds))
            run_sweep(engine=self.world.engine, clock=self.clock)

    @rule()
    def sweep(self) -> None:
        run_sweep(engine=self.world.engine, clock=self.clock)

    # ── after every step ─────────────────────────────────────────────────────────────────────────
    @invariant()
    def books_balance(self) -> None:
        if not hasattr(self, "shoppers"):
            return
        STEPS["steps"] += 1
        with transaction(self.world.engine) as s:
            report = run_audit(session=s)
            accounts = s.execute(sa.select(CreditAccount)).scalars().all()
            methods = s.execute(sa.select(PaymentMethod.id, PaymentMethod.balance_fen)).all()
            insts = s.execute(sa.select(Installment.id, Installment.order_id, Installment.status, Installment.paid_fen,
                                        Installment.paid_at, Installment.paid_method_id)).all()
            order_rows = s.execute(sa.select(Order.id, Order.status)).all()
            cut = {u for (u,) in s.execute(sa.select(CreditEvent.user_id).where(
                CreditEvent.kind == "limit", CreditEvent.new_value < CreditEvent.old_value))}
            # A repair charge is not a checkout: the shop cap does not refuse it, so it is left out here.
            charges = dict(s.execute(sa.select(Order.id, Order.price_fen).where(Order.kind == OrderKind.CHARGE)).all())
            charged: dict[tuple[int, int], int] = {}
            for oid, uid, mid, principal in s.execute(sa.select(Installment.order_id, Installment.shopper_id,
                                                                Installment.merchant_id, Installment.principal_fen)
                                                      .where(Installment.order_id.in_(list(charges)),
                                                             Installment.status.in_(IS.OPEN))):
                charged[(uid, mid)] = charged.get((uid, mid), 0) + principal
            exposures = [(u, merchant.shop_exposure(session=s, uid=u, merchant_id=mid) - charged.get((u, mid), 0), cap)
                         for u, mid, cap in s.execute(sa.select(Order.shopper_id, Order.merchant_id, Merchant.shop_cap_fen)
                                                      .distinct().join(Merchant, Merchant.id == Order.merchant_id))]
            kind_of = dict(s.execute(sa.select(Order.id, Order.kind)).all())
        assert report.ok, "\n".join(report.lines())

        for a in accounts:
            assert min(a.limit_fen, a.frozen_fen, a.outstanding_fen) >= 0, a
            assert credit.available(a) >= 0 and credit.spendable(a) >= 0, a
            assert credit.available(a) + a.frozen_fen + a.outstanding_fen == a.limit_fen + credit.excess(a), a
            # Never over-frozen: holds and debts above the limit only after the limit was cut.
            assert credit.excess(a) == 0 or a.user_id in cut, f"user {a.user_id} above a limit never cut: {a}"
        assert all(bal >= 0 for _, bal in methods)
        for uid, exposure, cap in exposures:  # shop caps never change in this machine
            assert exposure <= cap, f"shopper {uid}: exposure {exposure} above the shop cap {cap}"

        # PAID is final: an installment once paid stays paid, for the same amount, at the same time.
        # A refund (a return within the trial) gives the money back but leaves how it was paid.
        now_paid = {i.id: (i.paid_fen, i.paid_at, i.paid_method_id) for i in insts if i.status in (IS.PAID, IS.REFUNDED)}
        for iid, how in self.paid.items():
            assert now_paid.get(iid) == how, f"installment {iid} was paid {how}, now {now_paid.get(iid)}"
        self.paid = now_paid

        by_order: dict[int, list[str]] = {}
        for i in insts:
            by_order.setdefault(i.order_id, []).append(i.status)
        for oid, status in order_rows:
            sts = by_order.get(oid, [])
            live = [x for x in sts if LIVE(x)]
            msg = f"order {oid} ({kind_of[oid]}) is {status} with installments {sts}"
            if kind_of[oid] == OrderKind.BUY:  # an ordinary purchase, paid at once
                assert status == OS.PAID and not sts, msg
            elif kind_of[oid] != OrderKind.BNPL and status in OS.HOLDING:  # only 先用后付 has a trial
                raise AssertionError(msg)
            elif status in OS.HOLDING:
                assert sts and all(x == IS.PENDING for x in sts), msg
            elif status == OS.RETURNED:
                assert sts and all(x in (IS.CANCELLED, IS.REFUNDED) for x in sts), msg
            elif status == OS.PAID:
                assert live and all(x == IS.PAID for x in live), msg
            elif status == OS.DUE:
                assert IS.SCHEDULED in live and all(x in (IS.SCHEDULED, IS.PAID) for x in live), msg
            elif status == OS.OVERDUE:
                assert IS.OVERDUE in live and all(x in (IS.SCHEDULED, IS.OVERDUE, IS.PAID) for x in live), msg
            else:
                raise AssertionError(msg)



def test_random_lives_keep_the_books_straight(stateful_settings):
    run_state_machine_as_test(BnplMachine, settings=stateful_settings())
    print("\n".join(f"{n:20} {o:20} {c}" for (n, o), c in sorted(OUTCOMES.items())))


if os.environ.get("BNPL_DEEP_STEPS"):
    def test_deep_random_lives(deep_settings):
        """At least BNPL_DEEP_STEPS random steps from a fresh seed (printed, replayable with
        BNPL_DEEP_SEED): lives of up to 50 steps, 100 a run, runs with seed, seed+1, … until enough."""
        target = int(os.environ["BNPL_DEEP_STEPS"])
        seed = int(os.environ.get("BNPL_DEEP_SEED") or random.SystemRandom().getrandbits(32))
        print(f"\ndeep: seed {seed}, at least {target} steps (replay: BNPL_DEEP_SEED={seed})", flush=True)
        STEPS.clear()
        runs = 0
        try:
            while STEPS["steps"] < target:
                hypothesis.core.global_force_seed = seed + runs
                runs += 1
                run_state_machine_as_test(BnplMachine, settings=deep_settings())
                print(f"deep: run {runs} (seed {seed + runs - 1}) done, {STEPS['steps']} steps so far", flush=True)
        finally:
            hypothesis.core.global_force_seed = None
        print(f"deep: {STEPS['steps']} steps in {runs} run(s) from seed {seed}: the audit was clean after every one")
        print("\n".join(f"{n:20} {o:20} {c}" for (n, o), c in sorted(OUTCOMES.items())))


if pg_url():
    @pytest.mark.pg
    def test_random_lives_keep_the_books_straight_on_postgresql(stateful_settings, pg_engine):
        def clean_engine():
            _wipe(pg_engine)
            return pg_engine

        class OnPostgres(BnplMachine):
            engine_factory = staticmethod(clean_engine)

        run_state_machine_as_test(OnPostgres, settings=stateful_settings(max_examples=12))
