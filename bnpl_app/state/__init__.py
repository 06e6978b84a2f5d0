"""Reflex states: flat, one per concern, thin handlers (who is acting → one service call → view
dataclasses into vars → a toast or a redirect). Authority lives only in server-side sessions."""
