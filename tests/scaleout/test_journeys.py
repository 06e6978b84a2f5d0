"""The browser smoke journeys against the scaled-out deployment. Two of them are the e2e tier's
own tests, imported (and so collected here, with this tier's fixtures): the catalog hydrating
and round-tripping an event, and fiona's whole journey — open 先用后付, buy for ¥0, the order in
its trial with its countdown, the clock moved past the trial end, the deduction. The merchant
console and the operator desk are checked to load with their data.

Tests here share one database (there is no pristine copy to restore on PostgreSQL); each
uses accounts the others leave alone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser_support import go, login

from bnpl_app import routes
from e2e.test_shopper_journeys import (  # noqa: F401 - collected here
    test_1_fiona_opens_bnpl_buys_for_zero_and_is_deducted_when_the_trial_ends,
)
from e2e.test_smoke import test_catalog_hydrates_and_round_trips_an_event  # noqa: F401 - collected here


def test_the_merchant_console_and_the_operator_desk_load_their_data(page: Page, shot):
    login(page, "shop_fashion")
    expect(page.get_by_test_id("merchant-product-row").first).to_be_visible()
    go(page, routes.MERCHANT_ORDERS)
    expect(page.get_by_test_id("merchant-order-row").first).to_be_visible()
    shot(page, "scaleout-merchant-orders")
    page.get_by_test_id("logout").click()

    login(page, "ops")
    go(page, routes.OPS_RISK)
    expect(page.get_by_test_id("risk-bucket")).to_have_count(4)
    go(page, routes.OPS_AUDIT)
    page.get_by_test_id("audit-run").click()
    expect(page.get_by_test_id("audit-result")).to_have_attribute("data-ok", "true")
    shot(page, "scaleout-ops-audit")
