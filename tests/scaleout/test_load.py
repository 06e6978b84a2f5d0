"""A short load on the scaled-out deployment: SHOPPERS shoppers at once, each in its own tab
speaking the app's socket.io protocol (bench/reflex_client.py, no browser), log in with their
password, open a product, buy it with 先用后付 and land on the new order in its trial. Every
tab must get there, the database must hold exactly one order per shopper, and no tab may see a
backend exception. (The ledger audit and the servers' logs are checked when the session ends.)"""

from __future__ import annotations

import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bench.reflex_client import BuildInfo, ReflexClient, event_name
from bnpl_app import routes
from bnpl_app.db import make_engine, reading
from bnpl_app.domain.clock import FixedClock
from bnpl_app.models import Merchant, Order, Product, User
from bnpl_app.jobs.clock import DbClock
from bnpl_app.state.orders import OrderState
from bnpl_app.state.session import SessionState
from bnpl_app.state.shop import CartState, ProductState
from deploy import ROOT, Deployment
from helpers import World

SHOPPERS = 20
PASSWORD = "password123"  # what helpers.World gives its users
EVENT_TIMEOUT_S = 90.0  # one step of one tab, with all the others queued on two cores


def _arrange(db_url: str) -> tuple[list[str], int]:
    """SHOPPERS new shoppers (verified, 先用后付 open) and one product of shop_digital with stock."""
    engine = make_engine(db_url)
    try:
        world = World(engine, clock=FixedClock(DbClock(engine).now()))
        names = [f"load{i:02d}" for i in range(SHOPPERS)]
        for name in names:
            world.shopper(name=name, score=700)
        with reading(engine) as s:
            merchant_id = s.execute(sa.select(Merchant.id).join(User, User.id == Merchant.user_id)
                                    .where(User.username == "shop_digital")).scalar_one()
        product_id = world.product(merchant_id, price_fen=19_900, stock=SHOPPERS * 2, plans="full,3")
        return names, product_id
    finally:
        engine.dispose()


class Gate:
    """Holds the tabs open once each has got its order (or failed), so the connections can be
    counted while every tab is connected."""

    def __init__(self, parties: int):
        self.left = parties
        self.all_arrived = asyncio.Event()
        self.released = asyncio.Event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.all_arrived.set()


async def _shop(base_url: str, build: BuildInfo, username: str, product_id: int, gate: Gate) -> dict:
    """One shopper's tab, from the login page to its new order; the time of each step."""
    async with ReflexClient(base_url, build=build, timeout=EVENT_TIMEOUT_S) as tab:
        try:
            result = await _journey(tab, username, product_id)
        finally:
            gate.arrive()
        await gate.released.wait()
        return result


async def _journey(tab: ReflexClient, username: str, product_id: int) -> dict:
    """Log in, open the product, buy it with 先用后付, confirm: the new order page in its trial."""
    refused = ReflexClient.changed(SessionState, "toast_kind", "error")
    steps: dict[str, float] = {}
    steps["open"] = await tab.open(routes.LOGIN)
    login = await tab.log_in(username, PASSWORD)  # the form POSTed over HTTP, the home page loaded anew
    steps["login"] = login.seconds
    steps["product"] = await tab.navigate(routes.product(product_id))
    detail = tab.get(ProductState, "detail") or {}
    assert detail.get("id") == product_id, f"{username}: the product page shows {detail!r}"
    buy = await tab.call(event_name(ProductState, "buy_bnpl"), redirect=True, fail=refused)
    assert buy.redirect == routes.CHECKOUT, f"{username}: buying led to {buy.redirect}"
    steps["buy"] = buy.seconds
    confirm = await tab.call(event_name(CartState, "confirm"), redirect=True, fail=refused)
    steps["confirm"] = confirm.seconds
    order = tab.get(OrderState, "order") or {}
    assert confirm.redirect == routes.order(order.get("id")), f"{username}: confirm led to {confirm.redirect}"
    assert order.get("in_trial") and order.get("trial_end_ts", 0) > 0, f"{username}: the order page shows {order!r}"
    assert not tab.backend_errors, f"{username}: {tab.backend_errors}"
    return {"user": username, "order": order["id"], "steps": steps}


async def _crowd(deployment: Deployment, build: BuildInfo, names: list[str], product_id: int) -> tuple[list, dict]:
    """Every tab's result (or exception), and the connections per backend worker while all the
    tabs were connected."""
    gate = Gate(len(names))
    tabs = [asyncio.create_task(_shop(deployment.base_url, build, name, product_id, gate)) for name in names]
    try:
        # Each step of each tab has its own timeout: every tab arrives, with its order or an error.
        await asyncio.wait_for(gate.all_arrived.wait(), timeout=EVENT_TIMEOUT_S * 6)
        spread = deployment.connections_by_worker()
    finally:
        gate.released.set()
    return await asyncio.gather(*tabs, return_exceptions=True), spread


def test_twenty_shoppers_log_in_and_check_out_at_once(deployment: Deployment):
    names, product_id = _arrange(deployment.db_url)
    build = BuildInfo.from_web_dir(ROOT / ".web")

    started = time.monotonic()
    # In a thread of its own: Playwright's sync API (the browser tests) keeps an event loop
    # running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        results, spread = pool.submit(asyncio.run, _crowd(deployment, build, names, product_id)).result()
    elapsed = time.monotonic() - started

    failed = [f"{name}: {type(r).__name__}: {r}" for name, r in zip(names, results) if isinstance(r, BaseException)]
    assert not failed, f"{len(failed)} of {SHOPPERS} shoppers did not get their order:\n" + "\n".join(failed)

    engine = make_engine(deployment.db_url)
    try:
        with reading(engine) as s:
            placed = s.execute(sa.select(User.username, sa.func.count(Order.id)).join(Order, Order.shopper_id == User.id)
                               .where(User.username.in_(names)).group_by(User.username)).all()
            stock = s.get(Product, product_id).stock
    finally:
        engine.dispose()
    assert dict(placed) == {name: 1 for name in names}
    assert stock == SHOPPERS  # 2 × SHOPPERS at the start
    assert sorted(r["order"] for r in results) == sorted(set(r["order"] for r in results))

    # Both workers serve: the tabs' connections (one websocket each) are spread over them.
    assert len(spread) == deployment.workers and all(spread.values()), f"connections per worker: {spread}"

    per_step = {step: sorted(r["steps"][step] for r in results) for step in results[0]["steps"]}
    print(f"\n{SHOPPERS} shoppers checked out in {elapsed:.1f}s on {deployment.workers} backend workers; "
          + "; ".join(f"{step} median {statistics.median(t):.2f}s max {t[-1]:.2f}s" for step, t in per_step.items())
          + f"; connections per worker {spread}")
