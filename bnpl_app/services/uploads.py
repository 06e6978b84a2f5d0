"""Uploaded files (proofs, inspection photos, product images). The client's file name is never
used for storage: files are checked by their content (magic bytes) and size, and stored under a
generated name. The directory comes from ``BNPL_UPLOAD_DIR`` (default ``uploaded_files/``)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..db import PROJECT_ROOT
from ..domain.errors import ValidationError
from ..domain.policy import POLICY

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PROOF_TYPES = IMAGE_TYPES + ("application/pdf",)
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "application/pdf": "pdf"}
_STORED_RE = re.compile(r"[0-9a-f]{32}\.(?:png|jpg|gif|webp|pdf)")  # what store_many generates


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int
    label: str


def upload_dir() -> Path:
    d = Path(os.environ.get("BNPL_UPLOAD_DIR") or PROJECT_ROOT / "uploaded_files")
    d.mkdir(parents=True, exist_ok=True)
    return d


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def safe_label(name: object) -> str:
    """A display label from the client's name: no path, no control characters, bounded."""
    base = os.path.basename(str(name or "file").replace("\\", "/"))
    clean = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return clean[:80] or "file"


def check(name: object, data: bytes, allowed: tuple[str, ...]) -> str:
    label = safe_label(name)
    if not data:
        raise ValidationError("upload.empty", field="file", name=label)
    if len(data) > POLICY.upload_max_bytes:
        raise ValidationError("upload.too_big", field="file", name=label, max_mb=POLICY.upload_max_bytes // (1024 * 1024))
    ctype = sniff(data)
    if ctype not in allowed:
        raise ValidationError("upload.bad_type", field="file", name=label,
                              allowed=", ".join(_EXT[t].upper() for t in allowed))
    return ctype


def store_many(files: list[tuple[object, bytes]], *, allowed: tuple[str, ...]) -> list[StoredFile]:
    """Check every file first, then write them all: a bad file means nothing is stored."""
    if len(files) > POLICY.upload_max_files:
        raise ValidationError("upload.too_many", field="file", max=POLICY.upload_max_files)
    checked = [(safe_label(n), d, check(n, d, allowed)) for n, d in files]
    out = []
    for label, data, ctype in checked:
        stored = f"{secrets.token_hex(16)}.{_EXT[ctype]}"
        (upload_dir() / stored).write_bytes(data)
        out.append(StoredFile(stored, ctype, len(data), label))
    return out


def path_of(stored_name: str) -> Path:
    """Resolve a stored name (ours, generated) to its path, refusing anything else."""
    if not isinstance(stored_name, str) or not _STORED_RE.fullmatch(stored_name):
        raise ValidationError("bad_id")
    return upload_dir() / stored_name
