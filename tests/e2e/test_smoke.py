"""The app builds, serves one port, hydrates, and round-trips an event."""

from browser_support import login
from deploy import ROOT
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


def test_before_its_data_arrives_the_catalog_says_it_is_loading_not_that_nothing_matches(page: Page, shot):
    """The page's first paint comes before the backend's answer. With the websocket held back (it
    opens, nothing comes), that first paint stays on screen: it must say the list is loading."""
    page.route_web_socket("**/_event/**", lambda ws: None)  # never connected to the server
    page.goto("/")
    expect(page.get_by_test_id("list-loading")).to_be_visible()
    expect(page.get_by_test_id("list-loading")).to_contain_text("加载中")
    expect(page.get_by_text("没有符合条件的商品")).to_have_count(0)
    expect(page.get_by_test_id("product-card")).to_have_count(0)
    shot(page, "catalog-before-data")


def test_once_loaded_an_empty_search_says_nothing_matches(page: Page):
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    expect(page.get_by_test_id("list-loading")).to_have_count(0)
    page.get_by_test_id("catalog-search").fill("zzzz-no-such-product")
    expect(page.get_by_text("没有符合条件的商品")).to_be_visible()
    expect(page.get_by_test_id("list-loading")).to_have_count(0)


def test_the_page_says_which_language_it_speaks(page: Page):
    """Screen readers pick their voice from ``lang``: the document's is Chinese, the page's follows
    the language switch."""
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.get_by_test_id("page-root")).to_have_attribute("lang", "zh-CN")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("page-root")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("nav-login")).to_have_text("Log in")


def test_no_page_re_renders_whole_when_the_session_changes(page: Page):
    """A page's own component must not read any state: everything that shows a state var is its
    own small component, so a change (a toast, the unread count, a busy flag) re-renders those
    alone. The log-out form once pulled the session state into every page (a Reflex form gathers
    the hooks of what it holds): each change of the session re-rendered the whole page."""
    page.goto("/")  # the app server fixture has built .web/
    routes_dir = ROOT / ".web" / "app" / "routes"
    pages = sorted(routes_dir.glob("*.jsx"))
    assert len(pages) > 20
    whole = []
    for f in pages:
        body = f.read_text()
        start = body.index("function Component()")
        if "useStateContext(" in body[start:body.index("return (", start)]:
            whole.append(f.name)
    assert whole == []


def test_every_radix_class_on_the_page_has_a_style(page: Page):
    """The frame and the catalog's cards are plain elements wearing Radix Themes' class names
    (components/plain.py): a Radix upgrade that renamed one would leave them unstyled, silently."""
    login(page, "alice")
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    missing = page.evaluate("""() => {
        const used = new Set();
        for (const el of document.querySelectorAll('[data-testid=page-root] *'))
            for (const c of el.classList) if (c.startsWith('rt-')) used.add(c);
        const styled = new Set();
        const walk = (rules) => { for (const r of rules) {
            if (r.selectorText) for (const m of r.selectorText.matchAll(/\\.(rt-[\\w-]+)/g)) styled.add(m[1]);
            if (r.cssRules) walk(r.cssRules); } };
        for (const sheet of document.styleSheets) { try { walk(sheet.cssRules); } catch (e) {} }
        return [...used].filter((c) => !styled.has(c)).sort();
    }""")
    # Radix's own link marks "no underline" with a class and styles only the other kinds.
    assert missing == ["rt-underline-none"]
