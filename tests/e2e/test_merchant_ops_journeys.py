"""The merchant console and the operator desk, driven in a browser against the seeded demo:
the eight journeys of issue 4, each with a screenshot, plus a tour of every console screen at
desktop and phone size. Set-up that belongs to other actors (a shopper ordering, returning or
applying) goes through the real services on the app's own database; what the merchant or the
operator does goes through the page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from browser_support import at, go, login, row, toast
from helpers import merchant_of, png, uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.domain.money import yuan
from bnpl_app.models import (
    Application,
    CreditAccount,
    Installment,
    Merchant,
    Order,
    Product,
    ReturnRequest,
    User,
)
from bnpl_app.services import applications, checkout, orders, uploads
from bnpl_app.jobs.clock import DbClock, advance

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


# ── helpers ──────────────────────────────────────────────────────────────────────────────────
def product_id(db, name: str) -> int:
    with transaction(db) as s:
        return s.execute(sa.select(Product.id).where(Product.name == name)).scalar_one()


def order_of(db, username: str, product: str) -> int:
    with transaction(db) as s:
        return s.execute(sa.select(Order.id).join(User, User.id == Order.shopper_id)
                         .where(User.username == username, Order.product_name == product)
                         .order_by(Order.id.desc())).scalars().first()


def start_return(db, username: str, oid: int, *, received: bool = False) -> int:
    clock = DbClock(db)
    with transaction(db) as s:
        rid = orders.request_return(session=s, uid=uid_of(db, username), order_id=oid, tracking_no="SF1234567890",
                                    clock=clock).id
    if received:
        with transaction(db) as s:
            ret = s.get(ReturnRequest, rid)
            orders.mark_received(session=s, merchant_id=ret.merchant_id, return_id=rid, clock=clock)
    return rid


def move_clock(db, **delta) -> None:
    advance(engine=db, clock=DbClock(db), delta=timedelta(**delta))


# ── 1 ───────────────────────────────────────────────────────────────────────────────────────
def test_1_bnpl_off_hides_it_from_shoppers_but_the_order_in_trial_still_runs_to_its_deduction(page: Page, db, shot, browser,
                                                                                            app_server):
    earbuds = product_id(db, "蓝牙耳机")
    with transaction(db) as s:  # alice already has an order in trial for it
        oid = checkout.checkout(session=s, uid=uid_of(db, "alice"), product_id=earbuds, plan="full",
                                idempotency_key=uuid.uuid4().hex, clock=DbClock(db)).id

    login(page, "shop_digital")
    r = row(page, "merchant-product-row", earbuds)
    expect(r.get_by_test_id("product-open-trials")).to_be_visible()
    expect(page.get_by_test_id("bnpl-off-note")).to_be_visible()
    r.get_by_test_id("bnpl-toggle").click()
    expect(toast(page)).to_contain_text("已关闭先用后付")
    expect(r.get_by_test_id("bnpl-toggle")).to_have_attribute("data-state", "unchecked")
    shot(page, "j1-merchant-bnpl-off")
    with transaction(db) as s:
        assert s.get(Product, earbuds).bnpl_enabled is False

    shopper = browser.new_page(base_url=app_server)
    login(shopper, "alice")
    go(shopper, routes.product(earbuds))
    expect(shopper.get_by_test_id("eligibility-status")).to_have_attribute("data-eligible", "false")
    expect(shopper.get_by_test_id("buy-bnpl")).to_have_count(0)
    expect(shopper.get_by_test_id("plan-option-full")).to_have_count(0)
    shot(shopper, "j1-shopper-no-bnpl-option")

    move_clock(db, days=16)  # past the 15-day trial: the sweep deducts as agreed
    with transaction(db) as s:
        assert s.get(Order, oid).status == "PAID"
    go(page, routes.MERCHANT_ORDERS)
    expect(row(page, "merchant-order-row", oid)).to_have_attribute("data-status", "PAID")
    shot(page, "j1-merchant-order-deducted")
    shopper.context.close()


# ── 2 ───────────────────────────────────────────────────────────────────────────────────────
def test_2_merchant_receives_and_accepts_a_return_and_the_shoppers_limit_is_released(page: Page, db, shot):
    oid = order_of(db, "alice", "轻薄羽绒服")
    rid = start_return(db, "alice", oid)
    alice = uid_of(db, "alice")
    with transaction(db) as s:
        frozen_before = s.execute(sa.select(CreditAccount.frozen_fen).where(CreditAccount.user_id == alice)).scalar_one()
    assert frozen_before == 89_900

    login(page, "shop_fashion")
    go(page, routes.MERCHANT_RETURNS)
    r = row(page, "return-row", rid)
    expect(r.get_by_test_id("return-tracking")).to_have_text("SF1234567890")
    r.get_by_test_id("return-receive").click()
    expect(r).to_have_attribute("data-status", "RECEIVED")
    expect(r.get_by_test_id("inspect-deadline")).to_be_visible()
    shot(page, "j2-return-received")
    r.get_by_test_id("inspect-accept").click()
    expect(toast(page)).to_contain_text("买家额度已释放")
    expect(r).to_have_attribute("data-status", "ACCEPTED")
    shot(page, "j2-return-accepted")

    with transaction(db) as s:
        assert s.get(Order, oid).status == "RETURNED"
        assert s.execute(sa.select(CreditAccount.frozen_fen).where(CreditAccount.user_id == alice)).scalar_one() == 0


# ── 3 ───────────────────────────────────────────────────────────────────────────────────────
def test_3_merchant_rejects_a_damaged_return_with_a_photo_and_the_shopper_sees_photo_and_reason(page: Page, db, shot,
                                                                                              browser, app_server):
    oid = order_of(db, "alice", "轻薄羽绒服")
    rid = start_return(db, "alice", oid, received=True)
    reason = "外包装进水，内胆有污渍"

    login(page, "shop_fashion")
    go(page, routes.MERCHANT_RETURNS)
    r = row(page, "return-row", rid)
    r.get_by_test_id("inspect-reject").click()  # no reason, no photo: refused, visibly
    expect(toast(page)).to_contain_text("拒收原因")
    r.get_by_test_id("inspect-reason").fill(reason)
    r.get_by_test_id("inspect-reject").click()  # a reason but no photo: refused too
    expect(toast(page)).to_contain_text("照片")
    r.get_by_test_id("inspect-photo-upload").locator("input[type=file]").set_input_files(
        files=[{"name": "damage.png", "mimeType": "image/png", "buffer": png()}])
    expect(r.get_by_test_id("inspect-photo-selected")).to_contain_text("damage.png")
    shot(page, "j3-reject-form")
    r.get_by_test_id("inspect-reject").click()
    expect(toast(page)).to_contain_text("已拒收")
    expect(r).to_have_attribute("data-status", "REJECTED")
    expect(r.get_by_test_id("return-reason")).to_contain_text(reason)
    shot(page, "j3-return-rejected")

    with transaction(db) as s:
        assert s.get(Order, oid).status == "RETURN_REJECTED"

    shopper = browser.new_page(base_url=app_server)
    login(shopper, "alice")
    go(shopper, routes.order(oid))
    expect(shopper.get_by_test_id("inspection-reason")).to_contain_text(reason)
    photo = shopper.get_by_test_id("inspection-photo")
    expect(photo).to_be_visible()
    shopper.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=photo.element_handle())
    shot(shopper, "j3-shopper-sees-photo-and-reason")
    src = photo.get_attribute("src")
    assert src.startswith("/files/")
    assert shopper.request.get(src).status == 200  # the owner may read it
    assert page.request.get(src).status == 200  # the merchant of the return too
    shopper.context.close()


# ── 4 ───────────────────────────────────────────────────────────────────────────────────────
def test_4_a_return_not_inspected_by_the_deadline_is_accepted_by_the_sweep(page: Page, db, shot):
    oid = order_of(db, "alice", "轻薄羽绒服")
    rid = start_return(db, "alice", oid, received=True)

    login(page, "shop_fashion")
    go(page, routes.MERCHANT_RETURNS)
    r = row(page, "return-row", rid)
    expect(r.get_by_test_id("inspect-deadline")).to_be_visible()
    expect(r).to_contain_text("自动验收通过")
    shot(page, "j4-deadline-shown")
    for _ in range(4):  # the demo clock: four days on, the sweep runs what fell due
        page.get_by_test_id("clock-advance-1d").click()
        expect(page.get_by_test_id("clock-advance-1d")).to_be_enabled()
    expect(r).to_have_attribute("data-status", "ACCEPTED")
    expect(r).to_contain_text("超时未验")
    shot(page, "j4-auto-accepted")
    with transaction(db) as s:
        ret = s.get(ReturnRequest, rid)
        assert (ret.status, ret.outcome) == ("ACCEPTED", "auto_accepted")
        assert s.get(Order, oid).status == "RETURNED"


# ── 5 ───────────────────────────────────────────────────────────────────────────────────────
def _apply(db, username: str, kind: str, files: list[tuple[str, bytes]]) -> int:
    clock = DbClock(db)
    proofs = uploads.store_many(files, allowed=uploads.PROOF_TYPES)
    with transaction(db) as s:
        if kind == "restoration":
            return applications.apply_restoration(session=s, uid=uid_of(db, username), statement="已全部还清，附还款凭证",
                                                  proofs=proofs, clock=clock).id
        return applications.apply_hardship(session=s, uid=uid_of(db, username), reason_category="medical",
                                           statement="住院两个月，收入中断", proposed_installments=6,
                                           request_fee_waiver=True, proofs=proofs, clock=clock).id


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_5_ops_restores_daves_limit_and_approves_carols_hardship_plan_with_fees_waived(page: Page, db, shot):
    dave_app = _apply(db, "dave", "restoration", [("voucher.png", png()), ("statement.pdf", PDF)])
    dave = uid_of(db, "dave")
    with transaction(db) as s:
        restorable = s.execute(sa.select(CreditAccount.restorable_limit_fen).where(CreditAccount.user_id == dave)).scalar_one()

    login(page, "ops")
    r = row(page, "application-row", dave_app)
    expect(r.get_by_test_id("application-kind")).to_have_attribute("data-kind", "restoration")
    shot(page, "j5-queue")
    r.get_by_test_id("application-open").click()
    expect(page).to_have_url(at(routes.ops_application(dave_app)))
    proofs = page.get_by_test_id("application-proof")
    expect(proofs).to_have_count(2)
    img = proofs.locator("img")
    expect(img).to_have_count(1)
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    expect(proofs.nth(1).locator("a")).to_have_attribute("href", re.compile(r"^/files/[0-9a-f]{32}\.pdf$"))
    limit_input = page.get_by_test_id("approve-limit-input")
    expect(limit_input).to_have_value(f"{restorable // 100}")
    limit_input.fill(f"{restorable // 100 + 1}")  # above the previous limit: refused
    page.get_by_test_id("application-approve").click()
    expect(toast(page)).to_contain_text("恢复额度须在")
    limit_input.fill("800")
    shot(page, "j5-restoration-review")
    page.get_by_test_id("application-approve").click()
    expect(toast(page)).to_contain_text("已通过")
    expect(page.get_by_test_id("application-decision")).to_contain_text("¥800.00")
    with transaction(db) as s:
        acct = s.execute(sa.select(CreditAccount).where(CreditAccount.user_id == dave)).scalar_one()
        assert (acct.limit_fen, acct.bnpl_status) == (80_000, "active")

    # carol: 10 days overdue in the demo; hardship needs 30+, so time moves on first.
    move_clock(db, days=21)
    carol_app = _apply(db, "carol", "hardship", [("diagnosis.png", png(rgb=(40, 40, 200)))])
    carol = uid_of(db, "carol")
    with transaction(db) as s:
        late = applications.hardship_late_fees(session=s, uid=carol)
    assert late > 0
    go(page, routes.OPS)
    row(page, "application-row", carol_app).get_by_test_id("application-open").click()
    expect(page.get_by_test_id("shopper-summary")).to_contain_text("Carol")
    expect(page.get_by_test_id("hardship-waive-fees")).to_have_value("all")
    page.get_by_test_id("hardship-installments-input").fill("6")
    shot(page, "j5-hardship-review")
    page.get_by_test_id("application-approve").click()
    expect(toast(page)).to_contain_text("已通过")
    expect(page.get_by_test_id("application-status")).to_contain_text("已通过")
    shot(page, "j5-hardship-approved")

    with transaction(db) as s:
        app = s.get(Application, carol_app)
        assert (app.status, app.waived_fen, app.plan_installments) == ("APPROVED", late, 6)
        insts = list(s.execute(sa.select(Installment).where(Installment.shopper_id == carol)).scalars())
    assert {i.status for i in insts if i.plan_application_id is None} == {"REPLACED"}
    plan = [i for i in insts if i.plan_application_id == carol_app]
    assert len(plan) == 6 and all(i.status == "SCHEDULED" and i.late_fee_fen == 0 for i in plan)
    move_clock(db, days=10)  # late fees stop: nothing accrues on the new plan or the replaced schedule
    with transaction(db) as s:
        after = {i.id: i.late_fee_fen for i in s.execute(sa.select(Installment).where(Installment.shopper_id == carol)).scalars()}
    assert after == {i.id: i.late_fee_fen for i in insts}


# ── 6 ───────────────────────────────────────────────────────────────────────────────────────
def test_6_ops_rejects_an_application_with_a_reason_and_the_shopper_sees_it(page: Page, db, shot, browser, app_server):
    aid = _apply(db, "dave", "restoration", [("blurry.png", png())])
    reason = "凭证模糊无法辨认，请上传清晰的银行流水"

    login(page, "ops")
    go(page, routes.ops_application(aid))
    page.get_by_test_id("application-reject").click()  # no reason: refused, visibly
    expect(toast(page)).to_contain_text("请填写拒绝原因")
    page.get_by_test_id("application-reason-input").fill(reason)
    page.get_by_test_id("application-reject").click()
    expect(toast(page)).to_contain_text("已拒绝")
    expect(page.get_by_test_id("application-decision-reason")).to_contain_text(reason)
    shot(page, "j6-ops-rejected")

    shopper = browser.new_page(base_url=app_server)
    login(shopper, "dave")
    go(shopper, routes.CREDIT)
    expect(shopper.get_by_test_id("application-decision")).to_contain_text(reason)
    shot(shopper, "j6-shopper-sees-reason")
    shopper.context.close()


# ── 7 ───────────────────────────────────────────────────────────────────────────────────────
def _pct(part: int, whole: int) -> str:
    permille = (part * 2000 + whole) // (2 * whole)
    return f"{permille // 10}.{permille % 10}%"


def test_7_shop_fashions_dashboard_matches_the_seeded_orders_in_the_database(page: Page, db, shot):
    mid = merchant_of(db, "shop_fashion")
    with transaction(db) as s:
        q = lambda sql: s.execute(sa.text(sql), {"m": mid}).scalar_one()  # noqa: E731
        kept = q("SELECT count(*) FROM orders WHERE merchant_id=:m AND status IN ('DUE','OVERDUE','PAID')")
        returned = q("SELECT count(*) FROM orders WHERE merchant_id=:m AND status='RETURNED'")
        late = q("SELECT count(DISTINCT o.id) FROM orders o JOIN installments i ON i.order_id=o.id "
                 "WHERE o.merchant_id=:m AND o.status IN ('DUE','OVERDUE','PAID') AND (i.status IN ('OVERDUE','REPLACED') "
                 "OR i.penalized OR (i.status='PAID' AND i.paid_at > i.due_at))")
        to_shop = q("SELECT coalesce(sum(amount_fen),0) FROM postings WHERE ledger='money' AND kind='capture' "
                    "AND credit_account='mer:' || :m")
        fees = q("SELECT coalesce(sum(p.amount_fen),0) FROM postings p JOIN orders o ON o.id=p.order_id "
                 "WHERE p.ledger='money' AND p.kind='capture' AND p.credit_account='plat:service_fee' AND o.merchant_id=:m")
        balance = q("SELECT coalesce(sum(CASE WHEN credit_account='mer:' || :m THEN amount_fen ELSE -amount_fen END),0) "
                    "FROM postings WHERE credit_account='mer:' || :m OR debit_account='mer:' || :m")
    decided = kept + returned
    assert decided == 3 and kept == 3 and late == 2  # the seeded story: dave paid late, carol overdue, alice on time

    login(page, "shop_fashion")
    go(page, routes.MERCHANT_ANALYTICS)
    expect(page.get_by_test_id("metric-keep-rate")).to_have_text(_pct(kept, decided))
    expect(page.get_by_test_id("metric-return-rate")).to_have_text(_pct(returned, decided))
    expect(page.get_by_test_id("metric-overdue-rate")).to_have_text(_pct(late, kept))
    expect(page.get_by_test_id("metric-keep-rate-detail")).to_have_text(f"{kept}/{decided}")
    shot(page, "j7-analytics")
    go(page, routes.MERCHANT_SETTLEMENT)
    expect(page.get_by_test_id("settlement-captured")).to_have_text(yuan(to_shop + fees))
    expect(page.get_by_test_id("settlement-fees")).to_have_text(yuan(fees))
    expect(page.get_by_test_id("settlement-net")).to_have_text(yuan(balance))
    expect(page.get_by_test_id("settlement-ledger-ok")).to_be_visible()
    with page.expect_download() as dl:
        page.get_by_test_id("export-csv").click()
    text = open(dl.value.path(), encoding="utf-8-sig").read()
    assert text.startswith("日期,扣款笔数,扣款本金,平台服务费,退款,净结算")
    assert f"{balance // 100}.{balance % 100:02d}" in text
    shot(page, "j7-settlement")


# ── 8 ───────────────────────────────────────────────────────────────────────────────────────
def test_8_a_merchant_cannot_act_on_the_other_merchants_product_by_ui_or_crafted_event(page: Page, db, shot):
    mine, theirs = product_id(db, "纯棉T恤"), product_id(db, "机械键盘")
    fashion = merchant_of(db, "shop_fashion")
    with transaction(db) as s:
        own_ids = set(s.execute(sa.select(Product.id).where(Product.merchant_id == fashion)).scalars())

    # The crafted event: whatever shop_fashion's toggle sends, the wire carries shop_digital's id.
    def tamper(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if isinstance(message, str) and "toggle_bnpl" in message:
                message = re.sub(r'("product_id":\s*)%d\b' % mine, r"\g<1>%d" % theirs, message)
            server.send(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket(re.compile(r".*/_event.*"), tamper)
    login(page, "shop_fashion")
    rows = page.get_by_test_id("merchant-product-row")
    expect(rows).to_have_count(len(own_ids))
    assert {int(x) for x in rows.evaluate_all("els => els.map(e => e.dataset.id)")} == own_ids
    expect(row(page, "merchant-product-row", theirs)).to_have_count(0)

    with transaction(db) as s:
        before = {p.id: (p.bnpl_enabled, p.trial_days) for p in s.execute(sa.select(Product)).scalars()}
    row(page, "merchant-product-row", mine).get_by_test_id("bnpl-toggle").click()
    expect(toast(page)).to_contain_text("找不到")
    shot(page, "j8-crafted-event-refused")
    with transaction(db) as s:
        after = {p.id: (p.bnpl_enabled, p.trial_days) for p in s.execute(sa.select(Product)).scalars()}
    assert after == before  # neither product changed


# ── every screen, desktop and phone ──────────────────────────────────────────────────────────
# Each screen with what shows it has loaded its data.
MERCHANT_SCREENS = {routes.MERCHANT: "merchant-product-row", routes.MERCHANT_ORDERS: "merchant-order-row",
                    routes.MERCHANT_RETURNS: "return-row", routes.MERCHANT_SETTLEMENT: "settlement-day",
                    routes.MERCHANT_ANALYTICS: "metric-product-row"}
OPS_SCREENS = {routes.OPS: "application-row", routes.OPS_SHOPPERS + "?uid={carol}": "shopper-file",
               routes.OPS_RISK: "risk-bucket", routes.OPS_AUDIT: "audit-run", "/ops/applications/{aid}": "application-proof"}


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{page.url} scrolls sideways ({width}px)"


def _name(route: str) -> str:
    return route.split("?")[0].strip("/").replace("/", "-").replace("{aid}", "application") or "home"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_console_screen_renders_at_desktop_and_phone(page: Page, db, shot, lang):
    oid = order_of(db, "alice", "轻薄羽绒服")
    start_return(db, "alice", oid, received=True)
    aid = _apply(db, "dave", "restoration", [("voucher.png", png()), ("statement.pdf", PDF)])
    carol = uid_of(db, "carol")

    login(page, "shop_fashion", lang=lang)
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for route, ready in MERCHANT_SCREENS.items():
            go(page, route)
            expect(page.get_by_test_id(ready).first).to_be_visible()
            if route == routes.MERCHANT_ANALYTICS:
                expect(page.locator(".recharts-surface").first).to_be_visible()
            _no_sideways_scroll(page)
            shot(page, f"screen-{lang}-{size_name}-{_name(route)}")
        go(page, routes.MERCHANT)
        page.get_by_test_id("product-new").click()
        expect(page.get_by_test_id("product-image-upload")).to_be_visible()
        shot(page, f"screen-{lang}-{size_name}-merchant-new-product")
        page.keyboard.press("Escape")
    page.get_by_test_id("logout").click()

    login(page, "ops", lang=lang)
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for route, ready in OPS_SCREENS.items():
            go(page, route.format(carol=carol, aid=aid))
            expect(page.get_by_test_id(ready).first).to_be_visible()
            if route == routes.OPS_AUDIT:
                page.get_by_test_id("audit-run").click()
                expect(page.get_by_test_id("audit-result")).to_have_attribute("data-ok", "true")
            if route == routes.OPS_RISK:
                expect(page.get_by_test_id("risk-bucket")).to_have_count(4)
            _no_sideways_scroll(page)
            shot(page, f"screen-{lang}-{size_name}-{_name(route)}")


# ── products: create with a picture, edit the 先用后付 settings ───────────────────────────────
def test_merchant_creates_a_product_with_a_picture_and_sets_its_bnpl_terms(page: Page, db, shot, browser, app_server):
    login(page, "shop_digital")
    page.get_by_test_id("product-new").click()
    page.get_by_test_id("product-name-input").fill("降噪耳机 Pro")
    page.get_by_test_id("product-price-input").fill("1,299.50")
    page.get_by_test_id("product-stock-input").fill("12")
    picker = page.get_by_test_id("product-image-upload").locator("input[type=file]")
    picker.set_input_files(files=[{"name": "fake.png", "mimeType": "image/png", "buffer": PDF}])
    page.get_by_test_id("product-dialog-save").click()  # a PDF named .png: refused by its content
    expect(page.get_by_test_id("product-dialog-error")).to_contain_text("不是允许的类型")
    with transaction(db) as s:
        assert s.execute(sa.select(Product.id).where(Product.name == "降噪耳机 Pro")).first() is None
    picker.set_input_files(files=[{"name": "pro.png", "mimeType": "image/png", "buffer": png(rgb=(20, 160, 90))}])
    shot(page, "products-new-dialog")
    page.get_by_test_id("product-dialog-save").click()
    expect(toast(page)).to_contain_text("商品已创建")
    pid = product_id(db, "降噪耳机 Pro")
    r = row(page, "merchant-product-row", pid)
    expect(r).to_be_visible()
    img = r.locator("img")
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    src = img.get_attribute("src")
    anonymous = browser.new_context(base_url=app_server)
    assert anonymous.request.get(src).status == 200  # a product picture is public
    anonymous.close()

    r.get_by_test_id("min-score-input").fill("500")  # below the platform minimum: refused
    r.get_by_test_id("product-save").click()
    expect(toast(page)).to_contain_text("最低信用分须在")
    r.get_by_test_id("trial-days-input").fill("10")
    r.get_by_test_id("min-score-input").fill("600")
    r.get_by_test_id("plans-input").fill("full，3 6")
    r.get_by_test_id("interest-free-toggle").click()
    r.get_by_test_id("product-save").click()
    expect(toast(page)).to_contain_text("已保存")
    r.get_by_test_id("bnpl-toggle").click()
    expect(toast(page)).to_contain_text("已开启先用后付")
    shot(page, "products-created-and-configured")
    with transaction(db) as s:
        p = s.get(Product, pid)
        assert (p.price_fen, p.stock, p.trial_days, p.min_score, p.allowed_plans, p.interest_free, p.bnpl_enabled) == (
            129_950, 12, 10, 600, "full,3,6", True, True)
        assert p.image == src

    go(page, routes.MERCHANT_SETTLEMENT)  # the shop cap lives on the products page; set it too
    go(page, routes.MERCHANT)
    page.get_by_test_id("shop-cap-input").fill("abc")
    page.get_by_test_id("shop-cap-save").click()
    expect(toast(page)).to_contain_text("不是有效金额")
    page.get_by_test_id("shop-cap-input").fill("5000")
    page.get_by_test_id("shop-cap-save").click()
    expect(page.get_by_test_id("shop-cap-current")).to_contain_text("¥5,000.00")
    with transaction(db) as s:
        assert s.get(Merchant, merchant_of(db, "shop_digital")).shop_cap_fen == 500_000
