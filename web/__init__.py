"""The web UI, the JSON API under /api/v1, public endpoints and provider webhooks. Nothing imports web."""

from web.app import create_app

__all__ = ["create_app"]
