"""The rules. Plain functions with keyword-only arguments, an injected session and clock; they
raise domain errors and never commit (the caller's ``db.transaction`` does). No reflex import."""

from . import changes as _changes  # noqa: E402,F401  (registers the change-feed hooks on every session)
