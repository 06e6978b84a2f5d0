"""The rules. Plain functions with keyword-only arguments, an injected session and clock; they
raise domain errors and never commit (the caller's ``db.transaction`` does). No reflex import."""
