"""bench/reflex_client.py, the parts that need no server: what it reads from a built frontend,
route matching, wire names, and how an update completes a wait."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` lives at the project root

from bench.reflex_client import BuildInfo, EventError, ReflexClient, _route_of, event_name  # noqa: E402

ROOT_STATE = "reflex___state____state"
SESSION = f"{ROOT_STATE}.bnpl_app___state___session____session_state"


def _fake_web(tmp_path: Path) -> Path:
    web = tmp_path / ".web"
    (web / "utils").mkdir(parents=True)
    (web / "app" / "routes").mkdir(parents=True)
    (web / "app_components" / "pages").mkdir(parents=True)
    storage = {"cookies": {f"{SESSION}.token_rx_state_": {"name": "bnpl_session"}},
               "local_storage": {f"{SESSION}.lang_rx_state_": {"name": "bnpl_lang"}}, "session_storage": {}}
    (web / "utils" / "context.jsx").write_text(
        'export const initialStateHashes = ["aa", "bb"]\n'
        'export const stateSchema = "abc123"\n'
        f"export const clientStorage = {json.dumps(storage)}\n", encoding="utf-8")
    (web / "app_components" / "pages" / "layout.jsx").write_text(
        "export const Moment_tick_1 = /*#__PURE__*/ (() => {\n"
        f'    const cb = useCallback(((_ev_0) => (addEvents([(ReflexEvent("{SESSION}.tick", '
        '({ ["_value"] : _ev_0 }), ({  })))], [_ev_0], ({  })))), [addEvents, ReflexEvent])\n'
        "    return(jsx(Moment,{...mergeSlotProps(rest, ({ interval:1000, onChange:cb }))},))\n"
        "})();\n"
        "export const Text_plain_2 = /*#__PURE__*/ (() => { return jsx(Text, {}, 'x') })();\n",
        encoding="utf-8")
    routes = web / "app" / "routes"
    (routes / "_index.jsx").write_text("import {Moment_tick_1} from '$/app_components/pages/layout'", encoding="utf-8")
    (routes / "[product].$[pid]._index.jsx").write_text("import {Moment_tick_1} from 'x'", encoding="utf-8")
    (routes / "[login]._index.jsx").write_text("import {Text_plain_2} from 'x'", encoding="utf-8")
    (routes / "[404]._index.jsx").write_text("", encoding="utf-8")
    return web


def test_build_info_reads_storage_hashes_routes_and_interval_events(tmp_path):
    info = BuildInfo.from_web_dir(_fake_web(tmp_path))
    assert info.storage == {f"{SESSION}.token_rx_state_": "cookie", f"{SESSION}.lang_rx_state_": "local"}
    assert info.hashes == ["aa", "bb"] and info.state_schema == "abc123"
    assert sorted(info.routes) == ["/", "/login", "/product/[pid]"]
    assert info.periodic == {"/": [(f"{SESSION}.tick", ("_value",), 1.0)],
                             "/product/[pid]": [(f"{SESSION}.tick", ("_value",), 1.0)]}


def test_route_names_and_matching():
    assert _route_of("_index.jsx") == "/"
    assert _route_of("[merchant].[orders]._index.jsx") == "/merchant/orders"
    assert _route_of("[ops].[applications].$[aid]._index.jsx") == "/ops/applications/[aid]"
    info = BuildInfo(routes=["/", "/orders", "/orders/[oid]", "/product/[pid]"])
    assert info.match("/orders/42") == ("/orders/[oid]", {"oid": "42"})
    assert info.match("/orders") == ("/orders", {})
    assert info.match("/nowhere/1") == ("/nowhere/1", {})


def test_event_name_from_a_state_class_checks_the_handler():
    class FakeState:
        event_handlers = {"login": object()}

        @staticmethod
        def get_full_name():
            return SESSION

    assert event_name(FakeState, "login") == f"{SESSION}.login"
    with pytest.raises(KeyError, match="renamed"):
        event_name(FakeState, "log_in")


def test_updates_merge_keep_browser_storage_and_complete_waits():
    async def scenario():
        info = BuildInfo(storage={f"{SESSION}.token_rx_state_": "cookie"})
        tab = ReflexClient("http://127.0.0.1:1", build=info)
        plan = tab._wait(tab.changed(SESSION, "role", "shopper"), None)
        refused = tab._wait(lambda u: False, tab.changed(SESSION, "toast_kind", "error"))
        tab._on_event({"delta": {SESSION: {"token_rx_state_": "t0k", "role_rx_state_": "shopper"}}})
        assert plan.future.result()["delta"][SESSION]["role_rx_state_"] == "shopper"
        assert tab.get(SESSION, "role") == "shopper" and tab.storage == {f"{SESSION}.token_rx_state_": "t0k"}
        tab._on_event({"delta": {SESSION: {"toast_kind_rx_state_": "error"}}})
        with pytest.raises(EventError, match="refused"):
            refused.future.result()
        crash = tab._wait(lambda u: False, None)
        tab._on_event({"events": [{"name": "_call_function", "payload": {"function": "toast('An error occurred.')"}}]})
        with pytest.raises(EventError, match="backend exception"):
            crash.future.result()
        assert tab._waiters == []

    asyncio.run(scenario())


def test_listen_sees_every_update_until_stopped():
    async def scenario():
        tab = ReflexClient("http://127.0.0.1:1")
        seen: list[dict] = []
        stop = tab.listen(seen.append)
        tab._on_event({"delta": {SESSION: {"role_rx_state_": "shopper"}}})
        tab._on_event({"events": [{"name": "_redirect", "payload": {"path": "/x", "external": True}}]})
        stop()
        tab._on_event({"delta": {SESSION: {"role_rx_state_": ""}}})
        assert len(seen) == 2 and seen[0]["delta"][SESSION]["role_rx_state_"] == "shopper"
        with pytest.raises(EventError, match="not connected"):
            await tab.send("x.y", {})

    asyncio.run(scenario())
