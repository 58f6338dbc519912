"""Keys kept in the data directory: made on first run, owner-readable only."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNING_KEY_FILE = "signing-key.pem"
ADMIN_KEY_FILE = "admin.key"


@dataclass(frozen=True)
class KeyRing:
    signing_key: Ed25519PrivateKey = field(repr=False)
    admin_key: str = field(repr=False)

    @property
    def verify_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()


def write_private(path: Path, data: bytes) -> None:
    """Create a file readable by its owner only, atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def load_or_create(data_dir: Path) -> KeyRing:
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path = data_dir / SIGNING_KEY_FILE
    if not key_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(key_path, pem)
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{key_path} is not an Ed25519 private key")
    admin_path = data_dir / ADMIN_KEY_FILE
    if not admin_path.exists():
        write_private(admin_path, secrets.token_urlsafe(32).encode())
    admin_key = admin_path.read_text().strip()
    if len(admin_key) < 32:
        raise ValueError(f"{admin_path} holds too short an admin key")
    return KeyRing(signing_key=loaded, admin_key=admin_key)
