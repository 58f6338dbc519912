"""Room documents sealed at rest: AES-256-GCM with a key kept in the data directory.

A room document holds display names (personal data). The store file, its WAL and any
backup of it carry only sealed documents; the key file (`storage.key`, owner-readable
only) stays beside them and is what a backup must leave out or guard separately. The
room id is the associated data, so a sealed document cannot be moved to another room.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.auth.keys import write_private

STORAGE_KEY_FILE = "storage.key"
KEY_BYTES = 32
NONCE_BYTES = 12
# Sealed documents start with this version byte, so the format can change later.
FORMAT_V1 = b"\x01"


class SealError(ValueError):
    """A stored document that does not open with this key (wrong key, or tampered)."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a storage key has {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Sealer:
        return cls(load_or_create_storage_key(data_dir))

    def seal(self, room_id: str, document: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, document.encode(), room_id.encode())
        return FORMAT_V1 + nonce + sealed

    def open(self, room_id: str, blob: bytes) -> str:
        if blob[:1] != FORMAT_V1 or len(blob) < 1 + NONCE_BYTES:
            raise SealError(f"room {room_id}: not a sealed document")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, room_id.encode()).decode()
        except InvalidTag:
            raise SealError(f"room {room_id}: the document does not open with this key") from None


def load_or_create_storage_key(data_dir: Path) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / STORAGE_KEY_FILE
    if not path.exists():
        write_private(path, secrets.token_bytes(KEY_BYTES))
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key")
    return key
