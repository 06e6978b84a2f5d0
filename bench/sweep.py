"""Sweep benchmark: the REAL sweep (``jobs.sweep.run_sweep``) against the set-based SQL floor.

Seeds N due installments (100k by default; 100k and then 1M with ``--million``) among 10× as many
settled ones, with bulk SQL — but row for row what the services would have produced (see
``seed`` and BENCHMARKS.md) so the audit is clean before and after. Then, in the same run:

* floor: on a fresh byte copy of the seeded database, one INSERT…SELECT (the ledger rows the
  sweep writes for the due installments) + one UPDATE (the due installments → PAID), one
  transaction, the pragmas the app's bulk jobs run with (WAL, synchronous=FULL, the bulk page cache);
* sweep: ``run_sweep`` on another fresh copy, through the app's own engine (``db.make_engine``);
* floor and sweep are run ``--repeat`` times (3), alternating; the best time of each counts;
* audit: ``services.audit.run_audit`` on the swept database (printed; exit 1 if dirty).

Prints installments/s for both and their ratio (and with ``--million`` the 1M/100k sweep-time
ratio). The LAST line is one JSON object: ``sweep_per_s``, ``floor_per_s``, ``ratio`` (and
``scale_1m_over_100k``); with ``--million`` the top-level figures are those of the 1M run.

    .venv/bin/python bench/sweep.py               # 100k due among 1M settled
    .venv/bin/python bench/sweep.py --million     # 100k, then 1M due among 10M settled
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bnpl_app.db import SQLITE_BULK_CACHE_KIB, SQLITE_CHECKPOINT_PAGES, create_schema, make_engine, reading  # noqa: E402
from bnpl_app.domain import rules  # noqa: E402
from bnpl_app.domain.clock import UTC, FixedClock, add_months  # noqa: E402
from bnpl_app.domain.policy import POLICY  # noqa: E402
from bnpl_app.domain.status import BNPL_ACTIVE  # noqa: E402
from bnpl_app.services import auth, credit, schedule  # noqa: E402
from bnpl_app.services.audit import run_audit  # noqa: E402
from bnpl_app.services.notify import written  # noqa: E402
from bnpl_app.jobs import sweep as sweep_mod  # noqa: E402
from bnpl_app.jobs.sweep import run_sweep  # noqa: E402

SEED_VERSION = 7  # bump when the seeded world changes (invalidates --cache)
NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)  # 10:00 in China; day 15 so month arithmetic never clamps
DAY = timedelta(days=1)
N_MERCHANTS = 20
PRODUCTS_PER_MERCHANT = 5
CHUNK_SHOPPERS = 50_000  # shoppers generated (and their order ids interleaved) together
PASSWORD = "password123"
CATALOG = [  # name, category, price fen, 免息
    ("纯棉T恤", "服饰", 9_900, False), ("直筒牛仔裤", "服饰", 29_900, False), ("轻薄羽绒服", "服饰", 89_900, True),
    ("休闲运动鞋", "鞋履", 45_900, False), ("蓝牙耳机", "数码", 39_900, False), ("机械键盘", "数码", 59_900, False),
    ("智能手表", "数码", 129_900, False), ("移动电源", "数码", 15_900, True), ("保温杯", "家居", 12_900, False),
    ("电动牙刷", "个护", 24_900, True),
]


def ts(dt: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (see models.UTCDateTime)."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# ── the world, in Python ─────────────────────────────────────────────────────────────────────
@dataclass
class Inst:
    seq: int
    periods: int
    due: datetime
    principal: int
    fee: int
    status: str  # PAID | SCHEDULED
    attempt_at: datetime | None = None
    paid_at: datetime | None = None
    id: int = 0


@dataclass
class Ord:
    product: tuple  # (pid, merchant_id, name, price, interest_free)
    plan: str
    created: datetime
    trial_end: datetime
    sched: schedule.Schedule
    insts: list[Inst]
    status: str  # PAID | DUE
    closed_at: datetime | None = None
    id: int = 0


@dataclass
class Shopper:
    uid: int
    reg: datetime
    score0: int
    autopay: int
    orders: list[Ord] = field(default_factory=list)
    rewards: list[tuple[Ord, datetime]] = field(default_factory=list)  # on-time completions, in time order
    wallet_final: int = 0
    card_balance: int | None = None
    wallet_id: int = 0


def _products() -> list[tuple]:
    """(id, merchant, name, price, 免息), sorted by price."""
    out = []
    pid = 0
    for m in range(1, N_MERCHANTS + 1):
        for j in range(PRODUCTS_PER_MERCHANT):
            pid += 1
            name, _cat, price, free = CATALOG[(m + j) % len(CATALOG)]
            out.append((pid, m, f"{name} {pid}", price, free))
    return sorted(out, key=lambda p: (p[3], p[0]))


def _reward(score: int, streak: int, limit: int) -> rules.Standing:
    """An on-time order of a shopper whose 先用后付 is active and whose limit was never cut."""
    return rules.standing_after_order(on_time=True, score=score, streak=streak, limit_fen=limit, bnpl_status=BNPL_ACTIVE,
                                      restorable_limit_fen=None)


def _billed(order: Ord, autopay: int, paid_until: int) -> None:
    """The schedule as bill_order leaves it (attempt dates), the first ``paid_until`` periods paid
    on their attempt date (on time), as the sweep does."""
    for inst in order.insts:
        attempt = rules.first_attempt_at(due_at=inst.due, seq=inst.seq, autopay_days_before=autopay, now=order.trial_end)
        if inst.seq <= paid_until:
            inst.status, inst.paid_at = "PAID", attempt
        else:
            inst.status, inst.attempt_at = "SCHEDULED", attempt


_SCHEDULES: dict[tuple, schedule.Schedule] = {}
_built = 0


def _order(product: tuple, plan: str, trial_end: datetime) -> Ord:
    """An order as checkout stores it: schedule.build's periods (its amounts cached per price and
    plan, its due dates the same add_months; every 1000th order is checked against build)."""
    global _built
    key = (product[3], plan, product[4])
    sched = _SCHEDULES.get(key)
    if sched is None:
        sched = _SCHEDULES[key] = schedule.build(price_fen=product[3], plan=plan, trial_end=trial_end,
                                                 interest_free=product[4])
    n = len(sched.periods)
    insts = [Inst(p.seq, n, add_months(trial_end, p.seq - 1), p.principal_fen, p.fee_fen, "") for p in sched.periods]
    _built += 1
    if _built % 1000 == 1:
        real = schedule.build(price_fen=product[3], plan=plan, trial_end=trial_end, interest_free=product[4])
        assert [(p.seq, p.due_at, p.principal_fen, p.fee_fen) for p in real.periods] == \
            [(x.seq, x.due, x.principal, x.fee) for x in insts]
    return Ord(product, plan, trial_end - timedelta(days=7), trial_end, sched, insts, "DUE")


def plan_shopper(uid: int, i: int, rng: random.Random, products: list[tuple], prices: list[int]) -> Shopper:
    """One shopper's history: 12–14 past orders paid on time, then two open orders B (an
    installment plan, period k due now) and A (full plan, trial just ended): 20 settled and 2 due
    installments per shopper."""
    v = i % 4
    n_b, k = [(3, 3), (6, 2), (12, 5), (3, 1)][v]
    past = [[3] * 3 + [1] * 9, [3] * 3 + [1] * 10, [3] * 2 + [1] * 10, [3] * 3 + [1] * 11][v]
    rng.shuffle(past)
    early = k > 1 and rng.random() < 0.05  # "deduct 2 days before the due date"
    late = not early and rng.random() < 0.2  # due a while ago (the sweep was down): paid late, within grace
    autopay = 2 if early else 0
    due_k = NOW + 2 * DAY if early else (NOW - timedelta(minutes=rng.randrange(60, 2880)) if late else NOW)
    due_a = NOW - timedelta(minutes=rng.randrange(60, 2880)) if late else NOW
    b_trial_end = add_months(due_k, -(k - 1))
    b_created = b_trial_end - timedelta(days=7)
    t = b_created - timedelta(days=400)
    sh = Shopper(uid=uid, reg=t - DAY, score0=rng.randrange(600, 781), autopay=autopay)
    score, limit, streak = sh.score0, POLICY.start_limit(sh.score0), 0

    def pick(max_price: int) -> tuple:
        return rng.choice(products[:bisect.bisect_right(prices, max_price)])

    for n in past:
        plan = "full" if n == 1 else "3"
        o = _order(pick(limit), plan, t + timedelta(days=7))
        _billed(o, autopay, paid_until=n)
        o.status = "PAID"
        o.closed_at = max(x.paid_at for x in o.insts)
        sh.orders.append(o)
        sh.rewards.append((o, o.closed_at))
        # the reward (score +5, every 3rd on-time order one limit step) decides what the next order may cost
        st = _reward(score, streak, limit)
        score, streak, limit = st.score, st.streak, st.limit_fen
        t = o.closed_at + timedelta(days=rng.randrange(1, 4), minutes=rng.randrange(0, 1440))
    assert t < b_created, "history overlaps the open orders"
    b = _order(pick(limit // 2), str(n_b), b_trial_end)
    _billed(b, autopay, paid_until=k - 1)
    a = _order(pick(limit - b.product[3]), "full", due_a)
    _billed(a, autopay, paid_until=0)
    sh.orders += [b, a]
    assert b.insts[k - 1].attempt_at <= NOW and a.insts[0].attempt_at <= NOW
    assert all(x.attempt_at > NOW for x in b.insts[k:])
    # Funding: most wallets cover everything; some need the card (2nd method), a few fail.
    amt_a, amt_b = a.insts[0].principal + a.insts[0].fee, b.insts[k - 1].principal + b.insts[k - 1].fee
    r = rng.random()
    if r < 0.01:
        sh.wallet_final = min(amt_a, amt_b)  # one of the two fails (no card)
    elif r < 0.04:
        sh.wallet_final, sh.card_balance = min(amt_a, amt_b), 500_000  # the card pays the other
    elif r < 0.06:
        sh.wallet_final, sh.card_balance = 0, 500_000  # empty wallet: the card pays both
    else:
        sh.wallet_final = amt_a + amt_b + rng.randrange(0, 50_000)
        if rng.random() < 0.08:
            sh.card_balance = rng.randrange(0, 300_000)
    return sh


# ── writing it ───────────────────────────────────────────────────────────────────────────────
class Seeder:
    def __init__(self, con: sqlite3.Connection, n_due: int, seed: int = 20270315) -> None:
        assert n_due % 2 == 0
        self.con = con
        self.n_shoppers = n_due // 2
        self.rng = random.Random(seed)
        self.products = _products()
        self.prices = [p[3] for p in self.products]
        self.pw = auth.hash_password(PASSWORD)
        self.next = {"user": 0, "order": 0, "inst": 0, "method": 0, "event": 0}

    def _id(self, what: str) -> int:
        self.next[what] += 1
        return self.next[what]

    def ins(self, table: str, cols: str, rows: list) -> None:
        if rows:
            q = f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * (cols.count(',') + 1))})"
            self.con.executemany(q, rows)

    def run(self) -> None:
        t0 = ts(NOW - timedelta(days=800))
        users, merchants = [], []
        for m in range(1, N_MERCHANTS + 1):
            uid = self._id("user")
            users.append((uid, f"benchshop{m}", self.pw, "merchant", f"店铺 {m}", 1, "13900000000", "zh", t0))
            merchants.append((m, uid, f"店铺 {m}", POLICY.default_shop_cap_fen))
        self.ins("users", "id,username,password_hash,role,display_name,real_name_verified,phone,locale,created_at", users)
        self.ins("merchants", "id,user_id,name,shop_cap_fen", merchants)
        self.ins("products", "id,merchant_id,name,description,category,price_fen,stock,image,bnpl_enabled,trial_days,"
                 "min_score,allowed_plans,interest_free,created_at",
                 [(pid, m, name, f"店铺 {m} · {name}", CATALOG[(pid - 1) % len(CATALOG)][1], price, 1_000_000, "", 1,
                   7, POLICY.platform_min_score, "full,3,6,12", int(free), t0)
                  for pid, m, name, price, free in self.products])
        done = 0
        while done < self.n_shoppers:
            n = min(CHUNK_SHOPPERS, self.n_shoppers - done)
            self.chunk(done, n)
            done += n
        self.derived()

    def chunk(self, first: int, n: int) -> None:
        shoppers = []
        for i in range(first, first + n):
            shoppers.append(plan_shopper(self._id("user"), i, self.rng, self.products, self.prices))
        # Order ids in rounds (everyone's 1st order, then 2nd, …, the open ones last): roughly the
        # order in which a platform would have created them, so due rows are spread among settled ones.
        width = max(len(s.orders) for s in shoppers)
        orows, irows = [], []
        for r in range(width):
            # who orders next is random: consecutive ids belong to unrelated shoppers, as on a platform
            for sh in self.rng.sample(shoppers, len(shoppers)):
                j = r - (width - len(sh.orders))
                if j < 0:
                    continue
                o = sh.orders[j]
                o.id = self._id("order")
                for x in o.insts:
                    x.id = self._id("inst")
        users, accts, methods, events, postings, notes = [], [], [], [], [], []
        for sh in shoppers:
            uid = sh.uid
            users.append((uid, f"bench{uid}", self.pw, "shopper", f"买家 {uid}", 1, f"138{uid % 10**8:08d}", "zh",
                          ts(sh.reg)))
            wallet = self._id("method")
            paid_hist = sum(x.principal + x.fee for o in sh.orders for x in o.insts if x.status == "PAID")
            methods.append((wallet, uid, "wallet", "余额", sh.wallet_final, 0, ts(sh.reg)))
            postings.append(("money", f"top:{wallet}:{self.rng.getrandbits(64):016x}", 0, "ext:funding", f"pm:{wallet}",
                             paid_hist + sh.wallet_final, "topup", None, None, ts(sh.reg + timedelta(minutes=1))))
            if sh.card_balance is not None:
                card = self._id("method")
                methods.append((card, uid, "card", f"招商银行 ****{uid % 10000:04d}", sh.card_balance, 1,
                                ts(sh.reg + timedelta(minutes=2))))
                if sh.card_balance:
                    postings.append(("money", f"top:{card}:{self.rng.getrandbits(64):016x}", 0, "ext:funding",
                                     f"pm:{card}", sh.card_balance, "topup", None, None,
                                     ts(sh.reg + timedelta(minutes=2))))
            # open_bnpl → set_limit; then one reward per on-time order (services.payments.apply_standing)
            opened = sh.reg + timedelta(minutes=3)
            score, limit, streak = sh.score0, POLICY.start_limit(sh.score0), 0

            def limit_event(old: int, new: int, reason: str, at: datetime) -> None:
                ev = self._id("event")
                events.append((ev, uid, ts(at), "limit", old, new, reason))
                postings.append(("limit", f"limit:{ev}", 0, f"lim:{uid}:granted", f"lim:{uid}:headroom", new - old,
                                 "limit_change", None, None, ts(at)))

            limit_event(0, limit, credit.reason_of("cr.opened"), opened)
            last = opened
            for o, at in sh.rewards:
                st = _reward(score, streak, limit)
                if st.score != score:
                    events.append((self._id("event"), uid, ts(at), "score", score, st.score,
                                   credit.reason_of("cr.on_time", order=o.id)))
                if st.stepped:
                    limit_event(limit, st.limit_fen, credit.reason_of("cr.step", n=POLICY.on_time_orders_for_step), at)
                score, streak, limit = st.score, st.streak, st.limit_fen
                notice = rules.reward_notice(order_id=o.id, standing=st)
                title, body, params_json, _sms = written(notice.kind, notice.params)
                notes.append((uid, notice.kind, title, body, params_json, ts(at), notice.dedupe_key))
                last = at
            outstanding = 0
            for o in sh.orders:
                for x in o.insts:
                    if x.status == "SCHEDULED":
                        outstanding += x.principal
                    elif x.paid_at > last:
                        last = x.paid_at
                last = max(last, o.trial_end)
            accts.append((uid, score, limit, 0, outstanding, "active", POLICY.terms_version, ts(opened), streak, 0,
                          sh.autopay, ts(last)))
            sh.wallet_id = wallet
        self.ins("users", "id,username,password_hash,role,display_name,real_name_verified,phone,locale,created_at", users)
        self.ins("credit_accounts", "user_id,score,limit_fen,frozen_fen,outstanding_fen,bnpl_status,terms_version,"
                 "terms_accepted_at,on_time_streak,bad_debt,autopay_days_before,updated_at", accts)
        self.ins("payment_methods", "id,user_id,kind,label,balance_fen,priority,created_at", methods)
        self.ins("credit_events", "id,user_id,at,kind,old_value,new_value,reason", events)
        self.ins("postings", "ledger,posting_key,leg,debit_account,credit_account,amount_fen,kind,order_id,"
                 "installment_id,created_at", postings)
        self.ins("notifications", "user_id,kind,title,body,params_json,created_at,dedupe_key", notes)
        by_id = []
        for sh in shoppers:
            for o in sh.orders:
                by_id.append((sh, o))
        by_id.sort(key=lambda t: t[1].id)
        for sh, o in by_id:
            pid, mid, name, price, _free = o.product
            s = o.sched
            orows.append((o.id, sh.uid, mid, pid, name, price, o.plan, len(o.insts), o.status, f"bench-{o.id:012d}",
                          hashlib.sha256(f"{sh.uid}|{pid}|{o.plan}".encode()).hexdigest(), ts(o.created),
                          ts(o.trial_end), s.fee_bps, s.late_fee_bps_per_day, s.late_fee_cap_bps, s.grace_days,
                          POLICY.platform_fee_bps, ts(o.trial_end), ts(o.closed_at) if o.closed_at else None,
                          1 if o.status == "PAID" else None, 3))
            for x in o.insts:
                paid = x.status == "PAID"
                # The notices before each deduction went out at their offsets (the sweep's gate needs them).
                told = [d for d in POLICY.reminder_days_before if (x.paid_at if paid else x.attempt_at) - timedelta(days=d) <= NOW]
                sent = sum(1 << i for i, d in enumerate(POLICY.reminder_days_before) if d in told)
                noticed = ts((x.paid_at if paid else x.attempt_at) - timedelta(days=max(told))) if told else None
                irows.append((x.id, o.id, sh.uid, mid, x.seq, x.periods, ts(x.due), x.principal, x.fee, x.status,
                              None if paid else ts(x.attempt_at), ts(x.paid_at) if paid else None,
                              x.principal + x.fee if paid else 0, sh.wallet_id if paid else None, 0, 0, 0, 0, 0, 0,
                              0, 0, noticed, sent, 1 if paid else 0))
        self.ins("orders", "id,shopper_id,merchant_id,product_id,product_name,price_fen,plan,periods,status,"
                 "idempotency_key,request_hash,created_at,trial_end_at,fee_bps,late_fee_bps_per_day,late_fee_cap_bps,"
                 "grace_days,platform_fee_bps,billed_at,closed_at,on_time,reminders_sent", orows)
        self.ins("installments", "id,order_id,shopper_id,merchant_id,seq,periods,due_at,principal_fen,fee_fen,status,"
                 "attempt_at,paid_at,paid_fen,paid_method_id,late_fee_fen,late_fee_waived_fen,fee_waived_fen,attempts,penalized,"
                 "suspended_applied,bad_debt_applied,late_fee_days,noticed_at,notices_sent,auto_paid", irows)

    def derived(self) -> None:
        """What checkout, billing and the past deductions wrote, derived set-based from the rows."""
        c = self.con
        yuan_sql = "printf('¥%,d.%02d', i.paid_fen / 100, i.paid_fen % 100)"
        script = f"""
        INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, order_id,
                              installment_id, created_at)
            SELECT 'limit', 'frz:' || id, 0, 'lim:' || shopper_id || ':headroom', 'lim:' || shopper_id || ':frozen',
                   price_fen, 'freeze', id, NULL, created_at FROM orders ORDER BY id;
        INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, order_id,
                              installment_id, created_at)
            SELECT 'limit', 'bill:' || id, 0, 'lim:' || shopper_id || ':frozen', 'lim:' || shopper_id || ':outstanding',
                   price_fen, 'capture', id, NULL, billed_at FROM orders ORDER BY id;
        CREATE TEMP TABLE cap AS
            SELECT i.id, i.order_id, i.shopper_id, i.merchant_id, i.principal_fen AS p, i.paid_fen AS amt,
                   i.paid_method_id AS mid, i.paid_at AS at,
                   (i.principal_fen * o.platform_fee_bps + 5000) / 10000 AS svc
            FROM installments i JOIN orders o ON o.id = i.order_id WHERE i.status = 'PAID';
        INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, order_id,
                              installment_id, created_at)
            SELECT * FROM (
                SELECT 'money', 'cap:' || id, 0, 'pm:' || mid, 'mer:' || merchant_id, p - svc, 'capture', order_id, id, at
                    FROM cap WHERE p - svc > 0
                UNION ALL SELECT 'money', 'cap:' || id, 1, 'pm:' || mid, 'plat:service_fee', svc, 'capture', order_id, id, at
                    FROM cap WHERE svc > 0
                UNION ALL SELECT 'money', 'cap:' || id, 2, 'pm:' || mid, 'plat:fee_income', amt - p, 'capture', order_id, id, at
                    FROM cap WHERE amt - p > 0
                UNION ALL SELECT 'limit', 'lrp:' || id, 0, 'lim:' || shopper_id || ':outstanding',
                    'lim:' || shopper_id || ':headroom', p, 'repay', order_id, id, at FROM cap WHERE p > 0
            ) ORDER BY 10;
        DROP TABLE cap;
        INSERT INTO order_events (order_id, at, step, amount_fen, note)
            SELECT * FROM (
                SELECT id, created_at, 'frozen', price_fen, '' FROM orders
                UNION ALL SELECT id, billed_at, 'captured', price_fen, 'trial ended' FROM orders
                UNION ALL SELECT id, closed_at, 'paid', price_fen, '' FROM orders WHERE status = 'PAID'
            ) ORDER BY 2;
        INSERT INTO notifications (user_id, kind, title, body, params_json, created_at, dedupe_key)
            SELECT i.shopper_id, 'deducted', '扣款成功',
                   '“' || o.product_name || '”第 ' || i.seq || '/' || i.periods || ' 期已从' || m.label || '扣款 '
                       || {yuan_sql} || '。',
                   '{{"product": "' || o.product_name || '", "seq": ' || i.seq || ', "periods": ' || i.periods
                       || ', "method": "' || m.label || '", "amount": "' || {yuan_sql} || '"}}',
                   i.paid_at, 'cap:' || i.id
            FROM installments i JOIN orders o ON o.id = i.order_id JOIN payment_methods m ON m.id = i.paid_method_id
            WHERE i.status = 'PAID' ORDER BY i.paid_at;
        INSERT INTO outbox (user_id, channel, body, created_at, dedupe_key)
            SELECT user_id, 'sms', '【先用后付】' || title || '：' || body, created_at, 'sms:' || dedupe_key
            FROM notifications WHERE kind = 'deducted' ORDER BY id;
        INSERT INTO notifications (user_id, kind, title, body, params_json, created_at, dedupe_key)
            SELECT shopper_id, 'paid', '订单已结清', '“' || product_name || '”已全部付清。',
                   '{{"product": "' || product_name || '"}}', closed_at, 'paid:' || id
            FROM orders WHERE status = 'PAID' ORDER BY closed_at;
        """
        for stmt in script.split(";\n"):
            if stmt.strip():
                c.execute(stmt)
        # The SQL-rendered notices must be exactly what notify() renders.
        row = c.execute("SELECT n.title, n.body, n.params_json, o.body, i.seq, i.periods, i.paid_fen, ord.product_name "
                        "FROM notifications n JOIN installments i ON n.dedupe_key = 'cap:' || i.id "
                        "JOIN orders ord ON ord.id = i.order_id JOIN outbox o ON o.dedupe_key = 'sms:' || n.dedupe_key "
                        "WHERE i.paid_fen >= 100000 LIMIT 1").fetchone()
        notice = rules.deducted_notice(installment_id=0, product=row[7], seq=row[4], periods=row[5], method="余额",
                                       amount_fen=row[6])
        assert row[:4] == written(notice.kind, notice.params), row


def _sync_indexes(path: Path) -> None:
    """A cached seed made before an index changed in the models: bring its indexes up to date
    (the rows are the same; only index definitions may differ)."""
    from sqlmodel import SQLModel

    from bnpl_app import models  # noqa: F401

    con = sqlite3.connect(path, isolation_level=None)
    have = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    con.close()
    want = {ix.name: ix for table in SQLModel.metadata.sorted_tables for ix in table.indexes}
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for name in sorted(have - set(want)):
            conn.exec_driver_sql(f"DROP INDEX {name}")
            print(f"   seed: dropped index {name} (no longer in the models)", flush=True)
        for name in sorted(set(want) - have):
            want[name].create(conn)
            print(f"   seed: created index {name} (new in the models)", flush=True)
    engine.dispose()


COPY_MAX = 200_000  # cached seeds up to this size are copied; bigger ones (1M: ~25 GB) are moved, so used once


def _counts_line(counts: dict) -> str:
    return ", ".join(f"{k}={v:,}" for k, v in counts.items())


def _cache_file(cache: Path, n_due: int) -> Path:
    return cache / f"seed-v{SEED_VERSION}-{n_due}.db"


def seed_cached(cache: Path, n_due: int) -> tuple[Path, dict]:
    """The cached seed of this size, seeded first if missing (into a partial file, renamed when
    complete, so an interrupted seed is never taken for a finished one)."""
    cached = _cache_file(cache, n_due)
    if not cached.exists():
        cache.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        counts = seed(partial, n_due)
        os.replace(partial, cached)
        cached.with_suffix(".json").write_text(json.dumps(counts))
        print(f"   seed: {cached} in {time.perf_counter() - t:.1f}s", flush=True)
    return cached, json.loads(cached.with_suffix(".json").read_text())


def seed(path: Path, n_due: int) -> dict:
    from sqlmodel import SQLModel

    from bnpl_app import models  # noqa: F401

    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    # Load first, index after (same index definitions, rebuilt from the schema).
    indexes = [(name, sql) for name, sql in con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    con.execute("BEGIN")
    Seeder(con, n_due).run()
    con.execute("COMMIT")
    for _, sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE") if os.environ.get("BENCH_ANALYZE") else None
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("users", "orders", "installments", "postings", "notifications", "payment_methods")}
    counts["due"] = con.execute("SELECT count(*) FROM installments WHERE status IN ('SCHEDULED','OVERDUE') "
                                "AND attempt_at <= ?", (ts(NOW),)).fetchone()[0]
    counts["settled"] = con.execute("SELECT count(*) FROM installments WHERE status = 'PAID'").fetchone()[0]
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    _ = SQLModel
    return counts


# ── the three measurements ───────────────────────────────────────────────────────────────────
DUE = "status IN ('SCHEDULED', 'OVERDUE') AND attempt_at <= :now"
FLOOR_UPDATE = f"""
    UPDATE installments SET status = 'PAID', paid_at = :now, attempt_at = NULL, last_failure = NULL,
           paid_fen = principal_fen + fee_fen - fee_waived_fen + late_fee_fen - late_fee_waived_fen
                     + overdue_interest_fen
    WHERE {DUE}"""
# The official floor: the same ledger rows the sweep writes for these installments (capture legs
# 0–2 from the shopper's first method, and the limit repayment), in one INSERT…SELECT.
FLOOR_LEDGER = f"""
    INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, order_id,
                          installment_id, created_at)
    WITH due AS MATERIALIZED (
        SELECT i.id, i.order_id, i.shopper_id, i.merchant_id, i.principal_fen AS p,
               i.principal_fen + i.fee_fen - i.fee_waived_fen + i.late_fee_fen - i.late_fee_waived_fen
                   + i.overdue_interest_fen AS amt,
               (i.principal_fen * o.platform_fee_bps + 5000) / 10000 AS svc,
               (SELECT m.id FROM payment_methods m WHERE m.user_id = i.shopper_id ORDER BY m.priority, m.id LIMIT 1) AS mid
        FROM installments i JOIN orders o ON o.id = i.order_id WHERE i.{DUE.replace(' AND ', ' AND i.')})
    SELECT 'money', 'cap:' || id, 0, 'pm:' || mid, 'mer:' || merchant_id, p - svc, 'capture', order_id, id, :now
        FROM due WHERE p - svc > 0
    UNION ALL SELECT 'money', 'cap:' || id, 1, 'pm:' || mid, 'plat:service_fee', svc, 'capture', order_id, id, :now
        FROM due WHERE svc > 0
    UNION ALL SELECT 'money', 'cap:' || id, 2, 'pm:' || mid, 'plat:fee_income', amt - p, 'capture', order_id, id, :now
        FROM due WHERE amt - p > 0
    UNION ALL SELECT 'limit', 'lrp:' || id, 0, 'lim:' || shopper_id || ':outstanding',
        'lim:' || shopper_id || ':headroom', p, 'repay', order_id, id, :now FROM due WHERE p > 0"""
# For reference only: one bare posting per installment (what the calibration's floor wrote).
FLOOR_BARE = f"""
    INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, order_id,
                          installment_id, created_at)
    SELECT 'money', 'cap:' || id, 0, 'lim:' || shopper_id || ':outstanding', 'mer:' || merchant_id,
           principal_fen + fee_fen - fee_waived_fen + late_fee_fen - late_fee_waived_fen + overdue_interest_fen, 'capture', order_id, id, :now
    FROM installments WHERE {DUE}"""


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _floor_connection(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas the sweep's batches run with (db.make_engine, bulk cache)."""
    con = sqlite3.connect(path, isolation_level=None)
    for p in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000",
              f"cache_size=-{SQLITE_BULK_CACHE_KIB}", f"wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}"):
        con.execute(f"PRAGMA {p}")
    return con


def floor(path: Path) -> dict:
    """The set-based floor on a copy: one INSERT…SELECT + one UPDATE over the due rows, one commit,
    the pragmas the sweep runs with. First the bare variant, rolled back (reference), then the ledger
    variant, committed (the floor)."""
    con = _floor_connection(path)
    args = {"now": ts(NOW)}
    out = {}
    for name, insert, end in (("bare", FLOOR_BARE, "ROLLBACK"), ("ledger", FLOOR_LEDGER, "COMMIT")):
        c, t = cpu(), time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        rows = con.execute(insert, args).rowcount
        n = con.execute(FLOOR_UPDATE, args).rowcount
        con.execute(end)
        out[name] = dict(n=n, postings=rows, s=time.perf_counter() - t, cpu=cpu() - c)
    con.close()
    return out


def audit(path: Path) -> bool:
    engine = make_engine(f"sqlite:///{path}")
    with reading(engine) as s:
        rep = run_audit(session=s)
    engine.dispose()
    for line in rep.lines():
        print("   ", line)
    return rep.ok


def _canonical(path: Path) -> dict[str, list]:
    """Every table the sweep writes, without surrogate ids (a limit posting's key names its event)."""
    c = sqlite3.connect(path)
    ev = {r[0]: r[1:] for r in c.execute("SELECT id, user_id, at, kind, old_value, new_value, reason FROM credit_events")}
    key = lambda k: f"limit:{ev[int(k[6:])]}" if k.startswith("limit:") else k  # noqa: E731
    out = {"postings": sorted(repr((key(r[0]),) + r[1:]) for r in c.execute(
        "SELECT posting_key, leg, ledger, debit_account, credit_account, amount_fen, kind, order_id, installment_id, "
        "created_at FROM postings")), "credit_events": sorted(repr(v) for v in ev.values())}
    for table, cols in (("notifications", "dedupe_key, user_id, kind, title, body, params_json, created_at, read_at"),
                        ("outbox", "dedupe_key, user_id, channel, body, created_at, sent_at"),
                        ("order_events", "order_id, at, step, amount_fen, note"), ("installments", "*"),
                        ("orders", "*"), ("credit_accounts", "*"), ("payment_methods", "*")):
        out[table] = sorted(repr(r) for r in c.execute(f"SELECT {cols} FROM {table}"))
    c.close()
    return out


def verify(work: Path, n_due: int = 2_000) -> bool:
    """The batch path against the per-row path (sweep._BATCH_PATH = False) on copies of one seeded
    world, for a few batch sizes: every table must come out the same, row for row."""
    print(f"== verify: batch path vs per-row path on {n_due:,} due installments ==", flush=True)
    base = work / "verify.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)
    seed(base, n_due)
    ok = True
    for batch in (7, 500, 5_000):
        dumps, reports = [], []
        for batch_path in (False, True):
            db = work / f"verify-{batch_path}.db"
            shutil.copyfile(base, db)
            engine = make_engine(f"sqlite:///{db}")
            sweep_mod._BATCH_PATH = batch_path
            try:
                reports.append(run_sweep(engine=engine, clock=FixedClock(NOW), batch_size=batch))
            finally:
                sweep_mod._BATCH_PATH = True
                engine.dispose()
            dumps.append(_canonical(db))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        diff = [t for t in dumps[0] if dumps[0][t] != dumps[1][t]] + (["report"] if reports[0] != reports[1] else [])
        rows = sum(len(v) for v in dumps[0].values())
        print(f"   batch {batch:>5}: {'same' if not diff else 'DIFFERENT: ' + ', '.join(diff)} "
              f"({rows:,} rows compared; {reports[1].summary()})", flush=True)
        ok = ok and not diff
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)
    return ok


def batched_floor(path: Path, batch: int) -> dict:
    """Reference only: the floor's own SQL, committed ``batch`` due installments at a time (the
    sweep's cadence) instead of in one transaction — what committing in batches costs by itself."""
    con = _floor_connection(path)
    args = {"now": ts(NOW)}
    ids = [i for (i,) in con.execute(f"SELECT id FROM installments WHERE {DUE} ORDER BY id", args)]
    con.execute("CREATE TEMP TABLE batch (id INTEGER PRIMARY KEY)")
    only = "id IN (SELECT id FROM temp.batch) AND "
    ledger_sql = FLOOR_LEDGER.replace("WHERE i.status IN", "WHERE i." + only + "i.status IN")
    update_sql = FLOOR_UPDATE.replace("WHERE status IN", "WHERE " + only + "status IN")
    c, t, rows = cpu(), time.perf_counter(), 0
    for k in range(0, len(ids), batch):
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM temp.batch")
        con.executemany("INSERT INTO temp.batch VALUES (?)", [(i,) for i in ids[k:k + batch]])
        rows += con.execute(ledger_sql, args).rowcount
        con.execute(update_sql, args)
        con.execute("COMMIT")
    out = dict(s=time.perf_counter() - t, cpu=cpu() - c, postings=rows)
    con.close()
    return out


def _fresh_copy(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    os.sync()  # the copy's dirty pages are written back now, not during the measurement


def _warm(db: Path) -> None:
    """Read a database file once, in order, so the page cache holds what fits of it — the state a
    fresh copy is in (the floor's and the 100k sweep's databases have just been written). Without
    it the 1M sweep, run in place, would start on a cache the floor's 25 GB copy had just emptied,
    and its time would measure the disk more than the sweep."""
    with open(db, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass


def _drop(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def one_size(n_due: int, work: Path, cache: Path | None, audit_before: bool, repeat: int = 1,
             with_batched_floor: bool = False) -> dict:
    """Seed (or take the cached seed), then ``repeat`` rounds of floor + sweep, each on a fresh copy
    of the seed; the best time of each is reported (the least disturbed by the rest of the machine;
    all times are printed). A seed too big to copy (1M) is swept in place, once."""
    print(f"== {n_due:,} due installments among {10 * n_due:,} settled ==", flush=True)
    seed_db, sweep_db, floor_db = work / f"seed-{n_due}.db", work / f"sweep-{n_due}.db", work / f"floor-{n_due}.db"
    for p in (seed_db, sweep_db, floor_db):
        _drop(p)
    t = time.perf_counter()
    if cache and (n_due <= COPY_MAX or _cache_file(cache, n_due).exists()):
        cached, counts = seed_cached(cache, n_due)
        if n_due > COPY_MAX:
            os.replace(cached, seed_db)
            cached.with_suffix(".json").unlink()
            print(f"   seed: moved from {cached} (used up)", flush=True)
        else:
            shutil.copyfile(cached, seed_db)
            print(f"   seed: copied from {cached}", flush=True)
    else:
        counts = seed(seed_db, n_due)
    _sync_indexes(seed_db)
    print(f"   seed: {time.perf_counter() - t:.1f}s  " + _counts_line(counts), flush=True)
    assert counts["due"] == n_due and counts["settled"] == 10 * n_due, counts
    in_place = n_due > COPY_MAX
    repeat = 1 if in_place else max(1, repeat)
    res: dict = {"n_due": n_due, "settled": counts["settled"], "repeat": repeat}
    if audit_before:
        print("   audit of the seeded world:", flush=True)
        if not audit(seed_db):
            raise SystemExit("seeded world is not clean")

    floors, sweeps = [], []
    for k in range(repeat):
        _fresh_copy(seed_db, floor_db)
        fl = floor(floor_db)
        _drop(floor_db)
        assert fl["bare"]["n"] == fl["ledger"]["n"] == n_due, fl
        floors.append(fl)
        b, f = fl["bare"], fl["ledger"]
        print(f"   [{k + 1}/{repeat}] floor (UPDATE + INSERT…SELECT of the {f['postings']:,} ledger rows): {f['s']:7.2f}s "
              f"{n_due / f['s']:9,.0f}/s  cpu {f['cpu']:.1f}s   (bare, 1 posting each, rolled back: {b['s']:.2f}s)",
              flush=True)
        if in_place:
            sweep_db = seed_db
            t_warm = time.perf_counter()
            _warm(sweep_db)
            print(f"   sweep: the seed read through once to warm the page cache ({time.perf_counter() - t_warm:.0f}s, "
                  "not timed)", flush=True)
        else:
            _fresh_copy(seed_db, sweep_db)
        engine = make_engine(f"sqlite:///{sweep_db}")
        c, t = cpu(), time.perf_counter()
        rep = run_sweep(engine=engine, clock=FixedClock(NOW))
        dt, dc = time.perf_counter() - t, cpu() - c
        engine.dispose()
        assert rep.captured + rep.failed == n_due, rep
        sweeps.append(dict(s=dt, cpu=dc, report=rep.summary()))
        print(f"   [{k + 1}/{repeat}] sweep (run_sweep, batch {sweep_mod.BATCH_SIZE:,}): {dt:7.2f}s {n_due / dt:9,.0f}/s  "
              f"cpu {dc:.1f}s   ({rep.summary()})", flush=True)
        if k + 1 < repeat:
            _drop(sweep_db)
    best_f = min(floors, key=lambda x: x["ledger"]["s"])["ledger"]
    best_s = min(sweeps, key=lambda x: x["s"])
    res.update(floor_s=best_f["s"], floor_cpu=min(x["ledger"]["cpu"] for x in floors), floor_per_s=n_due / best_f["s"],
               bare_floor_per_s=n_due / min(x["bare"]["s"] for x in floors),
               sweep_s=best_s["s"], sweep_cpu=min(x["cpu"] for x in sweeps), sweep_per_s=n_due / best_s["s"],
               report=best_s["report"], floor_times=[round(x["ledger"]["s"], 2) for x in floors],
               sweep_times=[round(x["s"], 2) for x in sweeps])
    res["ratio"] = res["sweep_per_s"] / res["floor_per_s"]
    res["cpu_ratio"] = res["floor_cpu"] / res["sweep_cpu"]
    print(f"   best of {repeat}: floor {res['floor_s']:.2f}s, sweep {res['sweep_s']:.2f}s — "
          f"ratio sweep/floor: {res['ratio']:.3f} (wall), {res['cpu_ratio']:.3f} (cpu); "
          f"vs bare floor {res['sweep_per_s'] / res['bare_floor_per_s']:.3f}; load {os.getloadavg()[0]:.1f}", flush=True)
    if with_batched_floor and not in_place:
        _fresh_copy(seed_db, floor_db)
        bf = batched_floor(floor_db, sweep_mod.BATCH_SIZE)
        _drop(floor_db)
        res["batched_floor_s"] = bf["s"]
        print(f"   reference: the floor's SQL committed {sweep_mod.BATCH_SIZE:,} installments at a time: {bf['s']:.2f}s "
              f"(cpu {bf['cpu']:.1f}s; {bf['postings']:,} postings) — sweep / batched floor {bf['s'] / res['sweep_s']:.3f}",
              flush=True)
    con = sqlite3.connect(sweep_db)
    left = con.execute("SELECT count(*) FROM installments WHERE status IN ('SCHEDULED','OVERDUE') AND attempt_at <= ?",
                       (ts(NOW),)).fetchone()[0]
    con.close()
    assert left == 0, f"{left} due installments left untouched"
    print("   audit after the sweep:", flush=True)
    res["audit_ok"] = audit(sweep_db)
    return res


def _cleanup(work: Path, n_due: int) -> None:
    for name in ("seed", "sweep", "floor"):
        _drop(work / f"{name}-{n_due}.db")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--million", action="store_true", help="also run 1M due installments; report the 1M/100k time ratio")
    ap.add_argument("--n", type=int, default=100_000, help="due installments of the base run (default 100k)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the databases go (default: a temp dir)")
    ap.add_argument("--cache", type=Path, default=None, help="keep/reuse seeded databases here (dev only)")
    ap.add_argument("--audit-before", action="store_true", help="also audit the seeded world before the sweep")
    ap.add_argument("--keep", action="store_true", help="keep the swept databases")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of floor + sweep per size, each on a fresh copy; the best of each counts (default 3; "
                         "a 1M seed is swept once, in place)")
    ap.add_argument("--batched-floor", action="store_true",
                    help="also time the floor's SQL committed in sweep-sized batches (reference)")
    ap.add_argument("--verify", action="store_true",
                    help="first check on a small world that the batch path writes exactly what the per-row path writes")
    ap.add_argument("--seed-only", action="store_true",
                    help="only seed each size into --cache (to run the measurements later; 1M ≈ 25 GB)")
    args = ap.parse_args(argv)
    if args.seed_only:
        if args.cache is None:
            ap.error("--seed-only needs --cache")
        for n in [args.n] + ([1_000_000] if args.million else []):
            cached, counts = seed_cached(args.cache, n)
            print(f"{cached}: " + _counts_line(counts), flush=True)
        return 0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bnpl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.verify and not verify(work):
        return 1
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; workdir {work}", flush=True)
    sizes = [args.n] + ([1_000_000] if args.million else [])
    runs = []
    try:
        for n in sizes:
            runs.append(one_size(n, work, args.cache, args.audit_before, args.repeat, args.batched_floor))
            if not args.keep:
                _cleanup(work, n)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    last = runs[-1]
    out = {"sweep_per_s": round(last["sweep_per_s"]), "floor_per_s": round(last["floor_per_s"]),
           "ratio": round(last["ratio"], 3)}
    if args.million:
        out["scale_1m_over_100k"] = round(runs[1]["sweep_s"] / runs[0]["sweep_s"], 2)
        print(f"1M/100k sweep time: {out['scale_1m_over_100k']:.2f}x "
              f"(floor {runs[1]['floor_s'] / runs[0]['floor_s']:.2f}x)")
        out["runs"] = {str(r["n_due"]): {k: round(r[k], 3 if k == "ratio" else 0)
                                         for k in ("sweep_per_s", "floor_per_s", "ratio")} for r in runs}
    out["audit_ok"] = all(r["audit_ok"] for r in runs)
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["audit_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
