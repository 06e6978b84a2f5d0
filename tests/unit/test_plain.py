"""The plain building blocks (components/plain.py) render the elements and Radix classes of the
components they stand for, and never share their attributes between elements."""

from __future__ import annotations

from bnpl_app.components.plain import column, heading, link_to, row, text


def _props(component) -> str:
    return " ".join(component.render()["props"])


def test_a_row_and_a_column_are_radix_flex_boxes():
    r = _props(row("a", gap="3", wrap=True, justify="space-between", class_name="x"))
    assert 'className:"rt-Flex rt-r-fd-row rt-r-ai-center rt-r-gap-3 rt-r-fw-wrap rt-r-jc-space-between x"' in r
    c = _props(column("a"))
    assert 'className:"rt-Flex rt-r-fd-column rt-r-ai-start rt-r-gap-2"' in c


def test_texts_and_headings_use_radix_type_scale():
    assert 'className:"rt-Text rt-r-size-1 rt-r-weight-bold"' in _props(text("a", size="1", weight="bold"))
    assert text("a", as_="span").render()["name"] == '"span"'
    assert text("a").render()["name"] == '"p"'
    assert 'className:"rt-Heading rt-r-size-4"' in _props(heading("a", size="4"))


def test_a_link_navigates_in_the_page_in_the_accent_colour():
    rendered = link_to("a", href="/orders", size="2").render()
    assert rendered["name"] == "ReactRouterLink"  # React Router: no page reload
    props = " ".join(rendered["props"])
    assert 'to:"/orders"' in props
    assert '"data-accent-color":""' in props  # as rx.link: Radix colours a link by this attribute
    assert "rt-underline-none" in props


def test_attributes_are_never_shared_between_elements():
    """Reflex keeps and adds to the ``custom_attrs`` dict it is given: a shared one carried one
    link's test id and title onto every grey text of the catalog."""
    first = link_to("who", href="/account/security", accent="gray", data_testid="whoami", title="t")
    later = text("shop", accent="gray")
    assert "whoami" not in _props(later)
    assert 'title' not in _props(later)
    assert '"data-accent-color":"gray"' in _props(later)
    assert "whoami" in _props(first)
