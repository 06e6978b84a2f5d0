"""A shopper sees and touches only their own things. Through the pages: guards, another shopper's
order is 'not found', and events crafted on the wire (another shopper's ids, junk arguments) are
refused visibly and change nothing. Through the services the pages call, with the acting user's
id: every cross-account call is 'not found' and leaves the database as it was. And every refusal
of a form is shown to the person."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from browser_support import go, login, row, toast
from helpers import snapshot, uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading, transaction
from bnpl_app.domain.errors import DomainError, NotFound
from bnpl_app.domain.money import yuan
from bnpl_app.models import Application, Installment, InstallmentStatus as IS, Notification, Order, PaymentMethod
from bnpl_app.services import bills, inbox, orders, wallet

from test_shopper_journeys import account, dismiss, now_clock

# Rows that change by themselves while the app runs (logins, the ticking sweep, the demo clock).
_VOLATILE = {"auth_sessions", "sweep_runs", "sim_clock"}


def first_id(db, stmt) -> int:
    with reading(db) as s:
        return s.execute(stmt).scalars().first()


# ── guards ──────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("route", [routes.BILLS, routes.CREDIT, routes.WALLET, routes.INBOX])
def test_an_anonymous_visitor_is_sent_to_log_in(page: Page, route):
    go(page, route)
    expect(page).to_have_url(re.compile(re.escape(routes.LOGIN) + "$"))
    expect(toast(page)).to_contain_text("请先登录")


def test_the_help_page_is_public(page: Page):
    go(page, routes.HELP)
    expect(page.get_by_test_id("help-section").first).to_be_visible()
    expect(page.get_by_test_id("help-band")).to_have_count(6)


def test_a_merchant_is_sent_home_from_the_shoppers_bills(page: Page):
    login(page, "shop_fashion")
    go(page, routes.BILLS)
    expect(page).to_have_url(re.compile(re.escape(routes.MERCHANT) + "$"))
    expect(toast(page)).to_contain_text("无权执行此操作")


# ── the services, called as the acting shopper with somebody else's ids ─────────────────────
def test_another_shoppers_ids_are_not_found_and_change_nothing(db):
    alice = uid_of(db, "alice")
    carol = uid_of(db, "carol")
    carols_order = first_id(db, sa.select(Order.id).where(Order.shopper_id == carol))
    carols_inst = first_id(db, sa.select(Installment.id).where(Installment.shopper_id == carol,
                                                               Installment.status == IS.OVERDUE))
    carols_note = first_id(db, sa.select(Notification.id).where(Notification.user_id == carol))
    carols_method = first_id(db, sa.select(PaymentMethod.id).where(PaymentMethod.user_id == carol))
    with reading(db) as s:
        alices_methods = list(s.execute(sa.select(PaymentMethod.id).where(PaymentMethod.user_id == alice)).scalars())
    clock = now_clock(db)
    attempts = {
        "repay": lambda s: bills.repay(session=s, uid=alice, installment_id=carols_inst, clock=clock),
        "early quote": lambda s: bills.early_quote(session=s, uid=alice, order_id=carols_order, clock=clock),
        "early repay": lambda s: bills.early_repay(session=s, uid=alice, order_id=carols_order, clock=clock),
        "pay now": lambda s: orders.pay_now(session=s, uid=alice, order_id=carols_order, clock=clock),
        "return": lambda s: orders.request_return(session=s, uid=alice, order_id=carols_order, tracking_no="SF1234567890",
                                                  clock=clock),
        "mark read": lambda s: inbox.mark_read(session=s, uid=alice, notification_id=carols_note, clock=clock),
        "top up a card": lambda s: wallet.topup(session=s, uid=alice, amount_fen=100, method_id=carols_method, clock=clock),
        "repay from a card": lambda s: bills.repay(session=s, uid=carol, installment_id=carols_inst,
                                                   method_id=alices_methods[0], clock=clock),
        "autopay order": lambda s: bills.set_autopay(session=s, uid=alice, days_before=1,
                                                     method_order=[carols_method, *alices_methods], clock=clock),
    }
    before = snapshot(db, skip=_VOLATILE)
    for what, attempt in attempts.items():
        with pytest.raises(DomainError) as refused:
            with transaction(db) as s:
                attempt(s)
        assert isinstance(refused.value, NotFound) or refused.value.key == "autopay.order", what
    assert snapshot(db, skip=_VOLATILE) == before


# ── the pages: crafted events on the wire ───────────────────────────────────────────────────
def _rewrite(page: Page, field: str, mine: int, replacement: str) -> None:
    """Whatever the page sends with ``field`` = ``mine``, the server receives ``replacement``."""
    def tamper(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if isinstance(message, str):
                message = re.sub(r'("%s":\s*)%d\b' % (field, mine), lambda m: m.group(1) + replacement, message)
            server.send(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket(re.compile(r".*/_event.*"), tamper)


@pytest.mark.parametrize("replacement, refusal", [("{carols}", "找不到"), ("true", "无效的编号"),
                                                  ('"1 OR 1=1"', "无效的编号"), ("-1", "无效的编号")])
def test_a_crafted_mark_read_for_someone_elses_notice_is_refused(page: Page, db, shot, replacement, refusal):
    alice, carol = uid_of(db, "alice"), uid_of(db, "carol")
    mine = first_id(db, sa.select(Notification.id).where(Notification.user_id == alice, Notification.read_at.is_(None))
                    .order_by(Notification.created_at.desc(), Notification.id.desc()))
    carols = first_id(db, sa.select(Notification.id).where(Notification.user_id == carol, Notification.read_at.is_(None)))
    _rewrite(page, "notification_id", mine, replacement.format(carols=carols))
    login(page, "alice")
    go(page, routes.INBOX)
    before = snapshot(db, skip=_VOLATILE)
    row(page, "notice-row", mine).get_by_test_id("notice-mark-read").click()
    expect(toast(page)).to_contain_text(refusal)
    expect(row(page, "notice-row", mine)).to_have_attribute("data-unread", "true")
    assert snapshot(db, skip=_VOLATILE) == before
    if replacement == "{carols}":
        shot(page, "access-crafted-mark-read-refused")


def test_a_crafted_repayment_of_someone_elses_installment_moves_no_money(page: Page, db, shot):
    alice, carol = uid_of(db, "alice"), uid_of(db, "carol")
    carols = first_id(db, sa.select(Installment.id).where(Installment.shopper_id == carol, Installment.status == IS.OVERDUE))
    alices = first_id(db, sa.select(Installment.id).where(Installment.shopper_id == alice))
    _rewrite(page, "installment_id", carols, str(alices))
    login(page, "carol")
    go(page, routes.WALLET)
    page.get_by_test_id("wallet-topup-input").fill("500")
    page.get_by_test_id("wallet-topup-submit").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text(yuan(50_000))
    go(page, routes.BILLS)
    before = snapshot(db, skip=_VOLATILE)
    row(page, "repay-button", carols).click()
    expect(toast(page)).to_contain_text("找不到")
    assert snapshot(db, skip=_VOLATILE) == before
    expect(row(page, "installment-row", carols).get_by_test_id("installment-status")).to_have_text("已逾期")


# ── every refusal is visible ────────────────────────────────────────────────────────────────
def test_bad_input_on_the_account_forms_is_refused_with_a_message(page: Page, db, shot):
    login(page, "alice")
    go(page, routes.WALLET)
    with reading(db) as s:
        balance = yuan(wallet.wallet_of(session=s, uid=uid_of(db, "alice")).balance_fen)
    expect(page.get_by_test_id("wallet-balance")).to_have_text(balance)
    for text, message in (("abc", "不是有效金额"), ("0", "必须大于"), ("99999999", "超过上限")):
        page.get_by_test_id("wallet-topup-input").fill(text)
        page.get_by_test_id("wallet-topup-submit").click()
        expect(toast(page)).to_contain_text(message)
        dismiss(page)  # so the next message is a new one
    expect(page.get_by_test_id("wallet-balance")).to_have_text(balance)

    go(page, routes.CREDIT)
    limit = account(db, "alice").limit_fen
    page.get_by_test_id("self-cap-input").fill(str(limit // 100 + 1))
    page.get_by_test_id("self-cap-save").click()
    expect(toast(page)).to_contain_text(yuan(limit))
    assert account(db, "alice").self_cap_fen is None
    page.get_by_test_id("self-cap-input").fill("1,000")
    page.get_by_test_id("self-cap-save").click()
    expect(page.get_by_test_id("self-cap-current")).to_have_text(yuan(100_000))
    assert account(db, "alice").self_cap_fen == 100_000
    shot(page, "access-self-cap-saved")

    go(page, routes.BILLS)
    dismiss(page)
    page.get_by_test_id("autopay-days-before").select_option("2")
    page.get_by_test_id("autopay-save").click()
    expect(toast(page)).to_contain_text("自动还款设置已保存")
    assert account(db, "alice").autopay_days_before == 2


def test_a_proof_that_is_not_really_a_pdf_is_refused_and_nothing_is_stored(page: Page, db, shot):
    dave = uid_of(db, "dave")
    login(page, "dave")
    go(page, routes.CREDIT)
    page.get_by_test_id("restore-apply").click()
    page.get_by_test_id("application-proof-upload").set_input_files(
        [{"name": "voucher.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 not a pdf at all"}])
    page.get_by_test_id("application-submit").click()
    expect(toast(page)).to_contain_text("不是允许的类型")
    shot(page, "access-fake-pdf-refused")
    with reading(db) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Application)
                         .where(Application.shopper_id == dave)).scalar_one() == 0
    # Without any proof the application is refused too, with its reason.
    page.get_by_test_id("application-cancel").click()
    page.get_by_test_id("restore-apply").click()
    page.get_by_test_id("application-submit").click()
    expect(toast(page)).to_contain_text("至少一份证明材料")
