"""The caller's contact, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``).

Key: ``MINYI_PII_KEY`` (one or more comma-separated Fernet keys; the first encrypts, all decrypt, so a
key can be rotated), else the key file ``MINYI_PII_KEY_FILE`` (default ``data/serve/pii.key``), created
with a new random key and mode 0600 on first use. Losing the key loses the contacts; nothing else.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)


class PiiKeyError(ValueError):
    """The configured key is not a Fernet key."""


class ContactVault:
    """Encrypts and decrypts small JSON objects (the caller's name, phone and address)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise PiiKeyError("no PII key given")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise PiiKeyError("MINYI_PII_KEY must be url-safe base64 Fernet keys (Fernet.generate_key())") from exc

    def encrypt(self, contact: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(contact, ensure_ascii=False).encode("utf-8"))

    def decrypt(self, token: bytes) -> dict[str, Any] | None:
        """The contact, or None when no configured key opens it (logged without the token)."""
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken:
            log.error("a stored contact cannot be decrypted with the configured PII key(s)")
            return None


def ensure_key_file(path: Path) -> bool:
    """Create ``path`` with a new Fernet key (mode 0600) unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key() + b"\n")
    return True


def load_vault(spec: str | None, key_file: Path) -> ContactVault:
    """The vault for ``MINYI_PII_KEY`` when set, else for the key file (created on first use)."""
    if spec is None:
        if ensure_key_file(key_file):
            log.warning("MINYI_PII_KEY is not set: created a random contact-encryption key in %s", key_file)
        spec = key_file.read_text(encoding="ascii")
    keys = [k.strip().encode("ascii") for k in spec.replace("\n", ",").split(",") if k.strip()]
    return ContactVault(keys)
