from helpers import world  # noqa: F401  (the fixture: a scratch platform on in-memory SQLite)
