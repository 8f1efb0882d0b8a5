"""A session cookie signed with a key from the repository (the old default) logs nobody in."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

PUBLISHED = "dev-only-insecure-secret-change-me"


def _forged_session(payload: dict[str, object]) -> str:
    signer = Flask("forger")
    signer.secret_key = PUBLISHED
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    assert serializer is not None
    return serializer.dumps(payload)


def test_a_cookie_forged_with_the_published_key_is_not_a_login(client, admin_user, backend):
    client.set_cookie("session", _forged_session({"_user_id": str(admin_user.id), "_fresh": True}))
    response = client.get("/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
