"""The key that signs sessions, remember-me cookies, CSRF tokens and unsubscribe links.

Whoever knows it can forge a session cookie for any user, so:
- production refuses a key shorter than 32 bytes or one that was ever published (the old default in
  config.toml, the usual placeholders);
- dev and test never use a constant: the first start writes a random key into the data dir (mode
  0600) and every later start, and every process sharing that data dir (web, sender, CLI), reads it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

MIN_SECRET_KEY_BYTES = 32
KEY_FILE_NAME = "secret_key"
HOW_TO_GENERATE = "python -c \"import secrets; print(secrets.token_urlsafe(48))\""
# Keys anyone can read: Herald's own former default and common placeholders. A key in this set
# is refused in production and ignored (replaced by the generated one) in dev and test.
PUBLIC_SECRET_KEYS = frozenset({
    "dev-only-insecure-secret-change-me",
    "change-me", "changeme", "change-me-please", "secret", "secret-key", "secret_key", "your-secret-key",
    "dev", "development", "test", "herald",
})


def weak_secret_key_reason(key: str) -> str | None:
    """Why `key` must not sign production sessions, or None if it is long enough and not public."""
    if not key:
        return "is not set"
    if key in PUBLIC_SECRET_KEYS:
        return "is a published default that anyone can use to forge a login"
    size = len(key.encode("utf-8"))
    if size < MIN_SECRET_KEY_BYTES:
        return f"is {size} bytes long; it needs at least {MIN_SECRET_KEY_BYTES} random bytes"
    return None


def load_or_create_secret_key(data_dir: Path) -> str:
    """The key kept in `<data_dir>/secret_key`, written with a fresh random key (mode 0600) if missing.

    Two processes starting at once (web and sender) must end up with the same key: the new key is
    written to a temporary file and linked into place, which fails if another process got there
    first, and then that process's key is read. Raises OSError if the data dir cannot be written
    and ValueError if the file is there but too short to be a key.
    """
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # created 0600
        try:
            with os.fdopen(handle, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process wrote it first; use theirs
        finally:
            os.unlink(temporary)
    key = path.read_text(encoding="utf-8").strip()
    if len(key.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        raise ValueError(f"{path} holds no usable key ({len(key)} characters) — delete it and Herald writes a "
                         "new one on the next start (everyone is logged out)")
    return key
