"""One module per page (or per small group of pages); each exposes ``register(app)``."""
