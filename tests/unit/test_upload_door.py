"""The upload door (``files_api.bounded_uploads``) in front of an app that parses uploads the way
Reflex's ``/_upload`` does (Starlette's multipart parser): an oversize body is refused with a clear
413 before it is parsed — from its Content-Length without reading a byte, and, with no length
given, as soon as the streamed bytes pass the limit — and a handler that takes no files gets a 400,
never the 500 Reflex answers. The production build is checked the same way in
``tests/e2e/test_upload_door.py``."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bnpl_app import files_api
from bnpl_app.domain.policy import POLICY

UPLOAD = "reflex___state____state.bnpl_app___state___account____credit_state.submit_application"
NOT_UPLOAD = "reflex___state____state.bnpl_app___state___account____wallet_state.topup"


class Inner:
    """Stands for Reflex's backend: parses the multipart body of an upload and counts what it read."""

    def __init__(self):
        self.parsed = 0
        self.read = 0

        async def upload(request: Request):
            form = await request.form()  # noqa: F841 — the parse itself is what is counted
            self.parsed += 1
            return JSONResponse({"files": len(form.getlist("files"))})

        async def ping(request: Request):
            return PlainTextResponse("pong")

        self.app = Starlette(routes=[Route("/_upload", upload, methods=["POST"]), Route("/ping", ping)])

    async def __call__(self, scope, receive, send):
        async def reading():
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message
        await self.app(scope, reading, send)


@pytest.fixture
def door(monkeypatch):
    monkeypatch.setattr(files_api, "upload_handlers", lambda: frozenset({UPLOAD}))
    inner = Inner()
    return inner, TestClient(files_api.bounded_uploads(inner))


def _headers(handler=UPLOAD, **more):
    return {"reflex-client-token": "tab-1", "reflex-event-handler": handler, **more}


def test_upload_handlers_are_the_three_that_take_files():
    files_api.upload_handlers.cache_clear()
    from bnpl_app.state import account, merchant  # noqa: F401  (the states the app registers)

    names = {n.rsplit(".", 1)[-1] for n in files_api.upload_handlers()}
    assert names == {"submit_application", "save_product", "reject"}
    assert UPLOAD in files_api.upload_handlers()
    assert NOT_UPLOAD not in files_api.upload_handlers()


def test_a_small_upload_to_an_upload_handler_passes(door):
    inner, client = door
    r = client.post("/_upload", headers=_headers(), files={"files": ("a.png", b"\x89PNG" + b"0" * 100)})
    assert r.status_code == 200 and r.json() == {"files": 1}
    assert inner.parsed == 1


def test_an_upload_just_under_the_limit_passes(door):
    inner, client = door
    data = b"0" * (POLICY.upload_max_bytes * POLICY.upload_max_files)
    r = client.post("/_upload", headers=_headers(), files={"files": ("big.png", data)})
    assert r.status_code == 200 and inner.parsed == 1


def test_oversize_content_length_is_refused_with_413_before_a_byte_is_read(door):
    inner, client = door
    body = b"x" * (files_api.upload_limit() + 1)
    r = client.post("/_upload", headers=_headers(**{"content-type": "multipart/form-data; boundary=b"}), content=body)
    assert r.status_code == 413
    assert "upload too large" in r.json()["detail"] and "上传内容过大" in r.json()["detail"]
    assert inner.parsed == 0 and inner.read == 0


def test_oversize_body_without_a_length_is_cut_off_while_streaming(door):
    inner, client = door
    chunk = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n" + b"0" * (1 << 20)

    def endless():
        for _ in range(200):  # 200 MB, far past the limit
            yield chunk

    r = client.post("/_upload", headers=_headers(**{"content-type": "multipart/form-data; boundary=b"}), content=endless())
    assert r.status_code == 413
    assert inner.parsed == 0
    assert inner.read <= files_api.upload_limit() + len(chunk)  # stopped at the limit, not at 200 MB


def test_a_handler_that_takes_no_files_gets_400_not_500(door):
    inner, client = door
    r = client.post("/_upload", headers=_headers(NOT_UPLOAD), files={"files": ("a.png", b"x")})
    assert r.status_code == 400
    assert "does not take file uploads" in r.json()["detail"]
    assert inner.parsed == 0


@pytest.mark.parametrize("length", [b"abc", b"-1", "²".encode("latin-1"), b"1" * 40])
def test_a_malformed_content_length_is_refused(door, length):
    inner, client = door
    r = client.post("/_upload", headers=_headers(**{"content-length": length}), content=b"")
    assert r.status_code in (400, 413)
    assert inner.parsed == 0


def test_other_requests_pass_untouched(door):
    _inner, client = door
    assert client.get("/ping").text == "pong"
