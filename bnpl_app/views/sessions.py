"""What the account's security page renders: one row per signed-in device, from
``services.auth.active_sessions`` — times in China time, the client address, a short name of the
browser and system (never the raw header, never the token)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..domain.clock import china_time
from ..services.auth import SessionInfo
from ..words import text

# (pattern in the User-Agent, name shown): the first that matches wins, so the order matters
# (Edge and Opera say "Chrome" too, Chrome says "Safari", every phone says "Linux" or "Mac").
_BROWSERS = ((r"Edg/", "Edge"), (r"OPR/|Opera", "Opera"), (r"MicroMessenger", "WeChat"), (r"Firefox/", "Firefox"),
             (r"HeadlessChrome|Chromium/|Chrome/", "Chrome"), (r"Safari/", "Safari"),
             (r"python-httpx|aiohttp|python-requests|Python", "Python"), (r"curl/", "curl"))
_SYSTEMS = ((r"Android", "Android"), (r"iPhone|iPad|iOS", "iOS"), (r"Windows", "Windows"),
            (r"Mac OS X|Macintosh", "macOS"), (r"CrOS", "ChromeOS"), (r"Linux", "Linux"))


def device_name(user_agent: str, lang: str = "zh") -> str:
    """"Chrome · Linux" from a User-Agent header; the unknown browser's words when nothing matches."""
    browser = next((name for pat, name in _BROWSERS if re.search(pat, user_agent or "")), "")
    system = next((name for pat, name in _SYSTEMS if re.search(pat, user_agent or "")), "")
    return " · ".join(p for p in (browser, system) if p) or text("sessions.unknown_browser", lang)


@dataclass
class SessionRow:
    id: int = 0
    signed_in: str = ""
    last_seen: str = ""
    address: str = ""
    device: str = ""
    current: bool = False


def session_rows(infos: list[SessionInfo], lang: str) -> list[SessionRow]:
    return [SessionRow(i.id, china_time(i.created_at), china_time(i.last_seen_at),
                       i.address or text("sessions.unknown", lang), device_name(i.user_agent, lang), i.current)
            for i in infos]
