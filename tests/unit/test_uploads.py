"""Uploaded files: checked by content (magic bytes) and size, never by the client's name; stored
under a generated name; all or nothing per batch; no way out of the upload directory."""

from __future__ import annotations

import re

import pytest
from helpers import stored_files, updir  # noqa: F401  (updir: the fixture)

from bnpl_app.domain.errors import ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.services import uploads

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 32
HTML = b"<html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ZIP = b"PK\x03\x04" + b"\x00" * 32

_STORED_RE = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp|pdf)")


@pytest.mark.parametrize("data, ctype", [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"),
                                         (b"GIF87a" + b"\x00" * 8, "image/gif"), (WEBP, "image/webp"),
                                         (PDF, "application/pdf")])
def test_sniff_recognises_types_by_their_magic_bytes(data, ctype):
    assert uploads.sniff(data) == ctype


@pytest.mark.parametrize("data", [EXE, HTML, SVG, ZIP, b"RIFF\x00\x00\x00\x00WAVE", b"\x89PNG", b"", b"plain text"])
def test_sniff_knows_nothing_else(data):
    assert uploads.sniff(data) is None


def test_stores_an_allowed_file_under_a_generated_name(updir):
    (f,) = uploads.store_many([("holiday photo.PNG", PNG)], allowed=uploads.IMAGE_TYPES)
    assert _STORED_RE.fullmatch(f.stored_name) and f.stored_name.endswith(".png")
    assert "holiday" not in f.stored_name
    assert f.content_type == "image/png" and f.size == len(PNG) and f.label == "holiday photo.PNG"
    assert (updir / f.stored_name).read_bytes() == PNG
    assert uploads.path_of(f.stored_name) == updir / f.stored_name


def test_the_same_file_twice_gets_two_names(updir):
    a, b = uploads.store_many([("a.png", PNG), ("a.png", PNG)], allowed=uploads.IMAGE_TYPES)
    assert a.stored_name != b.stored_name and len(stored_files(updir)) == 2


def test_extension_follows_the_content_not_the_clients_name(updir):
    (f,) = uploads.store_many([("evil.exe", JPEG)], allowed=uploads.IMAGE_TYPES)
    assert f.stored_name.endswith(".jpg") and f.content_type == "image/jpeg" and f.label == "evil.exe"


@pytest.mark.parametrize("name, data", [("photo.png", EXE), ("photo.jpg", HTML), ("image.svg", SVG),
                                        ("scan.pdf", ZIP), ("x.png", b"\x89PNG")])
def test_wrong_content_is_refused_whatever_the_file_name(updir, name, data):
    with pytest.raises(ValidationError) as e:
        uploads.store_many([(name, data)], allowed=uploads.PROOF_TYPES)
    assert e.value.key == "upload.bad_type" and name in e.value.message
    assert stored_files(updir) == []


def test_pdf_is_a_proof_but_not_a_photo(updir):
    with pytest.raises(ValidationError) as e:
        uploads.store_many([("damage.png", PDF)], allowed=uploads.IMAGE_TYPES)
    assert e.value.key == "upload.bad_type" and "PDF" not in e.value.message
    (f,) = uploads.store_many([("statement.pdf", PDF)], allowed=uploads.PROOF_TYPES)
    assert f.content_type == "application/pdf" and f.stored_name.endswith(".pdf")


def test_file_of_exactly_the_maximum_size_is_accepted(updir):
    data = PNG + b"\x00" * (POLICY.upload_max_bytes - len(PNG))
    (f,) = uploads.store_many([("big.png", data)], allowed=uploads.IMAGE_TYPES)
    assert f.size == POLICY.upload_max_bytes


def test_file_over_the_maximum_size_is_refused(updir):
    data = PNG + b"\x00" * (POLICY.upload_max_bytes - len(PNG) + 1)
    with pytest.raises(ValidationError) as e:
        uploads.store_many([("big.png", data)], allowed=uploads.IMAGE_TYPES)
    assert e.value.key == "upload.too_big"
    assert str(POLICY.upload_max_bytes // (1024 * 1024)) in e.value.message
    assert stored_files(updir) == []


def test_empty_file_is_refused(updir):
    with pytest.raises(ValidationError) as e:
        uploads.store_many([("empty.png", b"")], allowed=uploads.IMAGE_TYPES)
    assert e.value.key == "upload.empty" and "empty.png" in e.value.message
    assert stored_files(updir) == []


def test_more_than_the_maximum_number_of_files_is_refused(updir):
    ok = uploads.store_many([(f"{i}.png", PNG) for i in range(POLICY.upload_max_files)], allowed=uploads.IMAGE_TYPES)
    assert len(ok) == POLICY.upload_max_files
    before = stored_files(updir)
    with pytest.raises(ValidationError) as e:
        uploads.store_many([(f"{i}.png", PNG) for i in range(POLICY.upload_max_files + 1)], allowed=uploads.IMAGE_TYPES)
    assert e.value.key == "upload.too_many" and str(POLICY.upload_max_files) in e.value.message
    assert stored_files(updir) == before


@pytest.mark.parametrize("bad_at", [0, 1, 2])
def test_nothing_is_written_when_one_file_in_the_batch_is_bad(updir, bad_at):
    batch = [("a.png", PNG), ("b.jpg", JPEG), ("c.gif", GIF)]
    batch[bad_at] = ("bad.png", EXE)
    with pytest.raises(ValidationError):
        uploads.store_many(batch, allowed=uploads.IMAGE_TYPES)
    assert stored_files(updir) == []


def test_label_keeps_no_path_and_no_control_characters(updir):
    files = [("../../etc/passwd.png", PNG), ("C:\\Users\\x\\evil.png", PNG), ("a\x00b\nc<>.png", PNG), (None, PNG),
             ("x" * 200 + ".png", PNG)]
    labels = [f.label for f in uploads.store_many(files, allowed=uploads.IMAGE_TYPES)]
    assert labels[:4] == ["passwd.png", "evil.png", "abc.png", "file"]
    assert len(labels[4]) == 80
    assert all(_STORED_RE.fullmatch(n) for n in stored_files(updir))
    assert not (updir.parent / "etc").exists()


@pytest.mark.parametrize("name", ["../secret", "..", ".", "../../bnpl.db", "/etc/passwd", "a/../../b", "..\\x",
                                  "sub/file.png", ".hidden", "", None, "a\x00b.png",
                                  "bnpl.db", "0" * 32 + ".exe", "0" * 32 + ".png\n", "0" * 31 + "/.png"])
def test_path_of_refuses_anything_but_a_generated_name(updir, name):
    with pytest.raises(ValidationError) as e:
        uploads.path_of(name)
    assert e.value.key == "bad_id"


def test_path_of_a_stored_name_stays_inside_the_upload_directory(updir):
    (f,) = uploads.store_many([("a.png", PNG)], allowed=uploads.IMAGE_TYPES)
    path = uploads.path_of(f.stored_name)
    assert path.resolve().parent == updir.resolve() and path.read_bytes() == PNG
