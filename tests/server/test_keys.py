"""Keys in the data directory: made once, owner-only, reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from server.auth.keys import ADMIN_KEY_FILE, SIGNING_KEY_FILE, load_or_create


def raw(ring_key: object) -> bytes:
    return ring_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def test_made_once_owner_only_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    first = load_or_create(data_dir)
    for name in (SIGNING_KEY_FILE, ADMIN_KEY_FILE):
        mode = stat.S_IMODE((data_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert len(first.admin_key) >= 32
    before = {name: (data_dir / name).read_bytes() for name in (SIGNING_KEY_FILE, ADMIN_KEY_FILE)}

    second = load_or_create(data_dir)
    assert raw(second.signing_key) == raw(first.signing_key)
    assert second.admin_key == first.admin_key
    after = {name: (data_dir / name).read_bytes() for name in (SIGNING_KEY_FILE, ADMIN_KEY_FILE)}
    assert after == before
    assert not list(data_dir.glob("*.tmp"))


def test_each_data_dir_has_its_own_keys(tmp_path: Path) -> None:
    a, b = load_or_create(tmp_path / "a"), load_or_create(tmp_path / "b")
    assert raw(a.signing_key) != raw(b.signing_key)
    assert a.admin_key != b.admin_key


def test_keys_not_in_repr(tmp_path: Path) -> None:
    ring = load_or_create(tmp_path)
    assert ring.admin_key not in repr(ring)


def test_wrong_key_type_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / SIGNING_KEY_FILE).write_bytes(pem)
    with pytest.raises(ValueError, match="Ed25519"):
        load_or_create(tmp_path)


def test_short_admin_key_refused(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    (tmp_path / ADMIN_KEY_FILE).write_text("short")
    with pytest.raises(ValueError, match="too short"):
        load_or_create(tmp_path)
