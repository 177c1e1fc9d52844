"""Secrets at rest (exchange API keys, aggregator tokens, provider keys): encrypted with
Fernet (AES-128-CBC and HMAC-SHA256, from the ``cryptography`` package) under keys that
never touch the database.

Keys come from ``QUANTDESK_SECRET_KEYS`` (comma separated) or the file named by
``QUANTDESK_SECRET_KEY_FILE`` (one key a line); the first key encrypts, every key
decrypts (``MultiFernet``), so a key is rotated by putting a new one first, running
``quantdesk secrets rotate`` (every stored secret re-encrypted under it), then dropping
the old one. With neither set, a key file is made on first need in quantdesk's data
directory, readable by its owner only (the one-machine setup); a deployment sets its own.

A secret is never logged or returned: :class:`Secret` prints as ``Secret('****')``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from platformdirs import user_data_dir

from quantdesk.domain.errors import InvalidInput

#: Every Fernet token starts so (version byte 0x80, base64).
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class Secret(str):
    """A decrypted secret: a ``str`` whose repr hides it (a log line or a traceback that
    shows a value shows ``****``)."""

    def __repr__(self) -> str:
        return "Secret('****')"


class VaultError(InvalidInput):
    """No key, a malformed key, or a secret no configured key can open."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def default_key_file() -> Path:
    return Path(user_data_dir("quantdesk", appauthor=False)) / "secret.key"


def _parse(keys: Iterable[str], where: str) -> list[Fernet]:
    found = []
    for number, text in enumerate((k.strip() for k in keys), start=1):
        if not text or text.startswith("#"):
            continue
        try:
            found.append(Fernet(text.encode()))
        except (ValueError, TypeError):
            raise VaultError(
                f"key {number} of {where} is not a Fernet key (32 url-safe base64 bytes;"
                " `quantdesk secrets new-key` makes one)"
            ) from None
    if not found:
        raise VaultError(f"{where} holds no key (`quantdesk secrets new-key` makes one)")
    return found


class Vault:
    """Encrypts and decrypts secrets with the configured keys (the first one encrypts)."""

    def __init__(self, keys: list[Fernet]) -> None:
        self._keys = MultiFernet(keys)

    @classmethod
    def from_keys(cls, *keys: str) -> Vault:
        return cls(_parse(keys, "the keys given"))

    @classmethod
    def from_environment(cls, *, create: bool = True) -> Vault:
        """The deployment's keys (see the module's notes); with ``create``, a key file of
        its own when none is configured."""
        listed = os.environ.get("QUANTDESK_SECRET_KEYS")
        if listed:
            return cls(_parse(listed.split(","), "QUANTDESK_SECRET_KEYS"))
        named = os.environ.get("QUANTDESK_SECRET_KEY_FILE")
        path = Path(named) if named else default_key_file()
        if not path.exists():
            if named or not create:
                raise VaultError(
                    f"no secret key: {path} does not exist (set QUANTDESK_SECRET_KEYS or "
                    "QUANTDESK_SECRET_KEY_FILE; `quantdesk secrets new-key` makes a key)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(new_key() + "\n")
        return cls(_parse(path.read_text().splitlines(), str(path)))

    def encrypt(self, secret: str) -> str:
        return self._keys.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> Secret:
        try:
            return Secret(self._keys.decrypt(token.encode()).decode())
        except InvalidToken:
            raise VaultError(
                "a stored secret cannot be opened with the configured keys (was the key that"
                " encrypted it removed before `quantdesk secrets rotate`?)"
            ) from None

    def rotate(self, token: str) -> str:
        """The secret re-encrypted under the first key (a token in clear text, written
        before secrets were encrypted, is encrypted)."""
        if not is_encrypted(token):
            return self.encrypt(token)
        try:
            return self._keys.rotate(token.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored secret cannot be opened with the configured keys") from None


def is_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


_CURRENT: dict[tuple[str | None, str | None], Vault] = {}


def current() -> Vault:
    """The deployment's vault (:meth:`Vault.from_environment`), read once per setting of
    the environment."""
    where = (os.environ.get("QUANTDESK_SECRET_KEYS"), os.environ.get("QUANTDESK_SECRET_KEY_FILE"))
    if where not in _CURRENT:
        _CURRENT[where] = Vault.from_environment()
    return _CURRENT[where]
