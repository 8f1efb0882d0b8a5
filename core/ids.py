"""Identifiers and signed tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token (API tokens, first-run passwords)."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """API tokens are stored hashed: a leaked database must not hand out working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, value: str) -> str:
    """A short HMAC of `value`, for links that must not be forged (status callbacks, unsubscribe)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def verify(secret: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, value), signature or "")
