"""Terms a shopper cannot read were not shown: every page of ``pages/registry.PAGES`` passes
axe-core's WCAG 2 A and AA rules (tags ``wcag2a``, ``wcag2aa``), opened by the role that can see
it, on the seeded demo with a little more in it (a product in the cart, a return waiting for
inspection, an application waiting for review) so the forms and badges those bring are checked
too. The shopper's main pages are checked at desktop and phone widths.

axe-core is the npm package ``scripts/bootstrap.sh --browser`` puts in .cache/axe-core; it is
injected into each page with Playwright's ``add_script_tag`` once the page has its data, and a
failure lists every violation by page, rule and element."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser_support import go, login
from helpers import png, uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.jobs.clock import DbClock
from bnpl_app.models import Order, Product, RentalListing, ReturnRequest, User
from bnpl_app.pages.registry import PAGES
from bnpl_app.services import applications, checkout, orders, uploads

AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

_RUN_AXE = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                              summary: (n.failureSummary || '').replace(/\\s+/g, ' ')}))}));
}"""


def violations(page: Page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `bash scripts/bootstrap.sh --browser`", pytrace=False)
    page.add_script_tag(path=str(AXE))
    return page.evaluate(_RUN_AXE, TAGS)


def readable(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, vs in found.items():
        for v in vs:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']}")
            lines += [f"      {n['target']}  {n['html']}\n        {n['summary']}" for n in v["nodes"][:8]]
            if len(v["nodes"]) > 8:
                lines.append(f"      … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


# ── the demo, with a little more in it ──────────────────────────────────────────────────────────
def _id(db, stmt) -> int:
    with transaction(db) as s:
        return s.execute(stmt).scalars().first()


def _product(db, name: str) -> int:
    return _id(db, sa.select(Product.id).where(Product.name == name))


def _order(db, username: str) -> int:
    return _id(db, sa.select(Order.id).join(User, User.id == Order.shopper_id).where(User.username == username)
               .order_by(Order.id.desc()))


def _received_return(db) -> None:
    """bob orders a T-shirt and sends it back; the shop has received it: the inspection form shows."""
    clock = DbClock(db)
    bob = uid_of(db, "bob")
    with transaction(db) as s:
        oid = checkout.checkout(session=s, uid=bob, product_id=_product(db, "纯棉T恤"), plan="full",
                                idempotency_key=uuid.uuid4().hex, clock=clock).id
    with transaction(db) as s:
        rid = orders.request_return(session=s, uid=bob, order_id=oid, tracking_no="SF1234567890", clock=clock).id
    with transaction(db) as s:
        ret = s.get(ReturnRequest, rid)
        orders.mark_received(session=s, merchant_id=ret.merchant_id, return_id=rid, clock=clock)


def _application(db) -> int:
    proofs = uploads.store_many([("voucher.png", png())], allowed=uploads.PROOF_TYPES)
    with transaction(db) as s:
        return applications.apply_restoration(session=s, uid=uid_of(db, "dave"), statement="已全部还清，附还款凭证",
                                              proofs=proofs, clock=DbClock(db)).id


# (route, the test id that shows the page has its data)
Tour = list[tuple[str, str]]


def _shopper_tour(db) -> Tour:
    return [
        (routes.INDEX, "product-card"),
        (routes.product(_product(db, "轻薄羽绒服")), "plan-option-3"),
        (routes.product(_product(db, "羊绒围巾")), "product-price"),  # 先用后付 off
        (routes.CART, "cart-line"),
        (routes.CHECKOUT, "cart-line"),
        (routes.ORDERS, "order-row"),
        (routes.order(_order(db, "alice")), "hold-timeline"),
        (routes.BILLS, "statement"),
        (routes.CREDIT, "credit-score"),
        (routes.WALLET, "method-row"),
        (routes.INBOX, "notice-row"),
        (routes.HELP, "help-band"),
        (routes.SECURITY, "session-row"),
    ]


def _borrower_tour(db) -> Tour:
    """gina: a 备用金 line with a draw being repaid, its months among her bills."""
    return [(routes.CASH, "cash-line"), (routes.BILLS, "installment-row")]


def _renter_tour(db) -> Tour:
    """rita: a phone rented mid-term, the deposit waived and held on her credit."""
    listing = _id(db, sa.select(RentalListing.id).order_by(RentalListing.id))
    return [(routes.RENT, "rental-listing-card"), (routes.rent_listing(listing), "rental-deposit-decision"),
            (routes.RENTALS, "rental-row"), (routes.CREDIT, "credit-score")]


def _troubled_tour(db) -> Tour:
    """carol (overdue) and dave (suspended) see red badges, warnings and the application forms."""
    return [(routes.BILLS, "installment-row"), (routes.CREDIT, "credit-score"), (routes.ORDERS, "order-row"),
            (routes.product(_product(db, "智能手表")), "eligibility-reason")]


def _merchant_tour(db) -> Tour:
    _received_return(db)
    return [(routes.MERCHANT, "merchant-product-row"), (routes.MERCHANT_ORDERS, "merchant-order-row"),
            (routes.MERCHANT_RETURNS, "return-row"), (routes.MERCHANT_SETTLEMENT, "settlement-day"),
            (routes.MERCHANT_ANALYTICS, "metric-product-row"), (routes.MERCHANT_RENTALS, "rental-listing-row")]


def _ops_tour(db) -> Tour:
    aid = _application(db)
    return [(routes.OPS, "application-row"), (routes.ops_application(aid), "application-detail"),
            (routes.OPS_SHOPPERS, "shopper-hit"), (routes.OPS_RISK, "risk-bucket"), (routes.OPS_AUDIT, "audit-run")]


def _visitor_tour(db) -> Tour:
    return [(routes.LOGIN, "login-username"), (routes.REGISTER, "register-username"), (routes.INDEX, "product-card"),
            (routes.HELP, "help-band"), (routes.product(_product(db, "机械键盘")), "product-price")]


def _fill_cart(page: Page, db) -> None:
    """A line in the cart, so the confirm step (quote, schedule, method) is checked too."""
    go(page, routes.product(_product(db, "休闲运动鞋")))
    page.get_by_test_id("add-to-cart").click()
    go(page, routes.CART)
    expect(page.get_by_test_id("cart-line")).to_have_count(1)


TOURS: dict[str, tuple[str | None, Callable, dict]] = {
    "shopper-desktop": ("alice", _shopper_tour, DESKTOP),
    "shopper-phone": ("alice", _shopper_tour, PHONE),
    "gina": ("gina", _borrower_tour, DESKTOP),
    "rita": ("rita", _renter_tour, DESKTOP),
    "rita-phone": ("rita", _renter_tour, PHONE),
    "carol": ("carol", _troubled_tour, DESKTOP),
    "dave-phone": ("dave", _troubled_tour, PHONE),
    "merchant": ("shop_fashion", _merchant_tour, DESKTOP),
    "merchant-phone": ("shop_fashion", _merchant_tour, PHONE),
    "ops": ("ops", _ops_tour, DESKTOP),
    "visitor": (None, _visitor_tour, DESKTOP),
    "visitor-phone": (None, _visitor_tour, PHONE),
}


@pytest.mark.parametrize("tour", list(TOURS))
def test_every_page_passes_axe_wcag2_a_and_aa(page: Page, db, shot, tour: str):
    user, build, size = TOURS[tour]
    stops = build(db)
    page.set_viewport_size(size)
    if user is not None:
        login(page, user)
    if any(route in (routes.CART, routes.CHECKOUT) for route, _ready in stops):
        _fill_cart(page, db)
    found: dict[str, list[dict]] = {}
    for route, ready in stops:
        go(page, route)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        vs = violations(page)
        shot(page, f"a11y-{tour}-{route.strip('/').replace('/', '-') or 'home'}")  # to look at: readable?
        if vs:
            found[route] = vs
    assert not found, f"{sum(len(v) for v in found.values())} axe violation(s) on {len(found)} page(s):\n{readable(found)}"


def test_the_tours_cover_every_page_in_the_registry(db):
    """A page added to the registry must join a tour above (dynamic routes by their prefix)."""
    toured = {route for _user, build, _size in TOURS.values() for route, _ready in build(db)}
    for p in PAGES:
        prefix = p.route.split("[")[0]
        assert any(r == p.route or (prefix != p.route and r.startswith(prefix)) for r in toured), p.route



def test_the_returns_desk_photo_field_is_named_by_its_label_which_opens_the_picker(page: Page, db, shot):
    """The file input of the inspection photos is named by the drop zone's words (a <label> around
    it); clicking the zone opens the file picker once, through the label."""
    _received_return(db)
    login(page, "shop_fashion")
    go(page, routes.MERCHANT_RETURNS)
    field_ = page.get_by_label("上传验货照片")
    expect(field_).to_have_attribute("type", "file")
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("inspect-photo-upload").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files([{"name": "box.png", "mimeType": "image/png", "buffer": png()}])
    expect(page.get_by_test_id("inspect-photo-selected")).to_have_count(1)
    shot(page, "a11y-returns-photo-picked")
