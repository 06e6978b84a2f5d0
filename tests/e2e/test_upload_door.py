"""The upload door of the production build, knocked on with raw HTTP as an attacker would (no
browser): a body over the limit gets a clear 413 before the server reads it — whether it announces
its length or streams without one — and an upload aimed at a handler that takes no files gets a
400, never a 500 (a 500 would also leave a traceback in the server log, which fails the session).
The door itself is ``bnpl_app/files_api.py`` (``bounded_uploads``); its unit tests are in
``tests/unit/test_upload_door.py``."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

import httpx

from bnpl_app import files_api

STATE = "reflex___state____state.bnpl_app___state___"
NOT_AN_UPLOAD = STATE + "session____session_state.dismiss_toast"
AN_UPLOAD = STATE + "account____credit_state.submit_application"


def _connect(base_url: str) -> socket.socket:
    url = urlparse(base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.settimeout(30)
    return sock


def _head(handler: str, extra: str) -> bytes:
    return (f"POST /_upload HTTP/1.1\r\nHost: 127.0.0.1\r\nreflex-client-token: attacker-tab\r\n"
            f"reflex-event-handler: {handler}\r\nContent-Type: multipart/form-data; boundary=b\r\n{extra}\r\n").encode()


def _response(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    while length is not None and len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {"raw": body[:200].decode("utf-8", "replace")}


def test_an_announced_oversize_upload_is_refused_with_413_before_it_is_sent(app_server):
    with _connect(app_server) as sock:
        sock.sendall(_head(AN_UPLOAD, f"Content-Length: {files_api.upload_limit() + 1}\r\n"))  # and no body at all
        status, body = _response(sock)
    assert status == 413
    assert "upload too large" in body["detail"] and "上传内容过大" in body["detail"]


def test_a_streamed_oversize_upload_is_cut_off_with_413(app_server):
    part = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
    chunk = b"0" * (256 * 1024)
    sent = 0
    with _connect(app_server) as sock:
        sock.sendall(_head(AN_UPLOAD, "Transfer-Encoding: chunked\r\n"))
        sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            while sent < 4 * files_api.upload_limit():
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what it said is read below
        status, body = _response(sock)
    assert status == 413
    assert "upload too large" in body["detail"]
    assert sent < 4 * files_api.upload_limit()  # refused on the way, not after all of it


def test_an_upload_to_a_handler_that_takes_no_files_is_a_400_not_a_500(app_server):
    r = httpx.post(f"{app_server}/_upload", files={"files": ("a.png", b"\x89PNG\r\n\x1a\n")},
                   headers={"reflex-client-token": "attacker-tab", "reflex-event-handler": NOT_AN_UPLOAD}, timeout=30)
    assert r.status_code == 400
    assert "does not take file uploads" in r.json()["detail"]


def test_an_upload_to_an_unknown_handler_is_a_400(app_server):
    r = httpx.post(f"{app_server}/_upload", files={"files": ("a.png", b"x")},
                   headers={"reflex-client-token": "attacker-tab", "reflex-event-handler": STATE + "nope.nothing"},
                   timeout=30)
    assert r.status_code == 400
