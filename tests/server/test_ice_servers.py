"""What browsers and the relay gather with (server/media/ice.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from server.media.ice import RELAY_TURN_TTL_S, ice_config_for, relay_ice_servers
from server.settings import Settings

NOW = 1_800_000_000.0
TURN = (
    "turns:turn.test:5349?transport=tcp",
    "turn:turn.test:3478?transport=tcp",
    "turn:turn.test:3478?transport=udp",
)


def test_pages_get_their_own_credentials_the_policy_and_how_long_they_last() -> None:
    settings = Settings(
        stun_urls=("stun:stun.test:3478",),
        turn_urls=TURN,
        turn_secret="s3cret",
        turn_ttl_s=600.0,
        ice_policy="relay",
    )
    config = ice_config_for(settings, "m-1", NOW)
    stun, turn = config["ice_servers"]
    assert stun == {"urls": ["stun:stun.test:3478"]}
    assert turn["urls"] == list(TURN)
    assert turn["username"] == f"{int(NOW + 600)}:m-1"
    expected = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    assert config["ice_transport_policy"] == "relay"
    assert config["ice_servers_ttl_s"] == 600.0
    bare = ice_config_for(Settings(), "m-1", NOW)
    assert bare == {"ice_servers": [], "ice_transport_policy": "all"}


def test_the_relay_takes_a_udp_turn_url_first_and_credentials_of_its_own() -> None:
    settings = Settings(
        stun_urls=("stun:a.test", "stun:b.test"),
        turn_urls=TURN,
        turn_secret="s3cret",
        turn_ttl_s=600.0,
    )
    stun, turn = relay_ice_servers(settings, "r-1", NOW)
    assert stun == {"urls": ["stun:a.test"]}  # aiortc uses one
    assert turn["urls"][0] == "turn:turn.test:3478?transport=udp"
    assert set(turn["urls"]) == set(TURN)
    # Its allocations outlive any session, so they are never refreshed on expired ones.
    assert turn["username"] == f"{int(NOW + RELAY_TURN_TTL_S)}:relay-r-1"


def test_with_a_public_address_configured_the_relay_asks_no_stun_server() -> None:
    settings = Settings(stun_urls=("stun:a.test",), rtc_announce_ip="203.0.113.10")
    assert relay_ice_servers(settings, "r-1", NOW) == []
