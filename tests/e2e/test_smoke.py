"""The app builds, serves one port, hydrates, and round-trips an event."""

from playwright.sync_api import Page, expect


def test_index_hydrates_and_round_trips_an_event(page: Page, shot):
    page.goto("/")
    expect(page.get_by_role("heading", name="先用后付")).to_be_visible()

    page.get_by_test_id("ping-button").click()

    expect(page.get_by_test_id("ping-result")).to_have_text("pong")
    shot(page, "smoke-index")
