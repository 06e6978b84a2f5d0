"""先用后付 — buy now, pay later."""
