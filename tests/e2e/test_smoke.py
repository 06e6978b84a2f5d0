"""The app builds, serves one port, hydrates, and round-trips an event."""

from playwright.sync_api import Page, expect


def test_catalog_hydrates_and_round_trips_an_event(page: Page, shot):
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()  # data came from the backend
    switch = page.get_by_test_id("lang-switch")
    expect(switch).to_have_text("English")
    switch.click()  # an event to the backend and a state delta back
    expect(switch).to_have_text("中文")
    expect(page.get_by_test_id("nav-login")).to_have_text("Log in")
    shot(page, "smoke-catalog")
