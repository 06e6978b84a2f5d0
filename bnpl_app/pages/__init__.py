"""One module per page (or per small group of pages); ``registry.py`` adds them all to the app."""
