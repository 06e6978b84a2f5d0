"""Who reaches which console, in a browser: shoppers never reach the merchant console or the
operator desk, merchants never reach the desk, nobody reaches another account's uploaded files —
each refusal visible (a redirect with a message, or a plain 404 for a file)."""

from __future__ import annotations

import pytest
from browser_support import at, go, login
from helpers import png, uid_of
from playwright.sync_api import Browser, Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.services import applications, uploads
from bnpl_app.jobs.clock import DbClock

REFUSED = "无权执行此操作"


@pytest.mark.parametrize("user, target, home", [
    ("bob", routes.MERCHANT, routes.INDEX),
    ("bob", routes.MERCHANT_RETURNS, routes.INDEX),
    ("bob", routes.OPS, routes.INDEX),
    ("bob", routes.ops_application(1), routes.INDEX),
    ("shop_fashion", routes.OPS, routes.MERCHANT),
    ("shop_fashion", routes.OPS_SHOPPERS, routes.MERCHANT),
    ("ops", routes.MERCHANT_SETTLEMENT, routes.OPS),
])
def test_a_role_without_access_is_sent_home_with_a_message(page: Page, shot, user, target, home):
    login(page, user)
    page.goto(target)
    expect(page).to_have_url(at(home))
    expect(page.get_by_test_id("toast")).to_contain_text(REFUSED)
    if user == "bob":
        shot(page, f"role-bob-refused{target.replace('/', '-')}")


def test_anonymous_visitor_of_the_console_is_sent_to_log_in(page: Page):
    go(page, routes.MERCHANT)
    expect(page).to_have_url(at(routes.LOGIN))
    expect(page.get_by_test_id("toast")).to_contain_text("请先登录")


def test_uploaded_proofs_are_served_to_the_owner_and_operators_only(page: Page, browser: Browser, app_server: str, db):
    proofs = uploads.store_many([("statement.png", png())], allowed=uploads.PROOF_TYPES)
    dave = uid_of(db, "dave")
    with transaction(db) as s:
        applications.apply_restoration(session=s, uid=dave, statement="", proofs=proofs, clock=DbClock(db))
    url = routes.upload_url(proofs[0].stored_name)

    def status(user: str | None) -> int:
        ctx = browser.new_context(base_url=app_server)
        try:
            p = ctx.new_page()
            if user:
                login(p, user)
            return p.request.get(url).status
        finally:
            ctx.close()

    assert status(None) == 404
    assert status("bob") == 404  # another shopper
    assert status("shop_fashion") == 404  # a merchant has no business with a bank statement
    assert status("dave") == 200
    assert status("ops") == 200
    # Reflex's own static door to the same directory is closed.
    assert page.request.get(f"/_upload/{proofs[0].stored_name}").status == 404
    assert page.request.get("/files/..%2Fbnpl.db").status == 404
