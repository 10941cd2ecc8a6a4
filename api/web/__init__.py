"""The web UI: server-rendered pages (Jinja2) whose ES modules call the same /v1 API with the
session cookie, so a page can do exactly what its party's API key can and nothing more."""
