"""--rtc-ports, --rtc-announce-ip, --ice-policy and --turn-ttl-seconds: checked at startup."""

from __future__ import annotations

import pytest

from server.cli.main import _settings_from as settings_from
from server.cli.main import build_parser, main
from server.settings import Settings, parse_port_range


def test_a_port_range_is_parsed_and_bad_ones_say_why() -> None:
    assert parse_port_range("50000-50199") == (50000, 50199)
    assert parse_port_range(" 50000-50000 ") == (50000, 50000)
    assert parse_port_range("50000") == (50000, 50000)  # one port for every leg
    with pytest.raises(ValueError, match="expected a UDP port range"):
        parse_port_range("50000-fifty")
    with pytest.raises(ValueError, match="the first port is above the last"):
        parse_port_range("50199-50000")
    with pytest.raises(ValueError, match="between 1024 and 65535"):
        parse_port_range("80-90")
    with pytest.raises(ValueError, match="between 1024 and 65535"):
        parse_port_range("65000-70000")


def test_announce_ip_and_ice_policy_are_checked() -> None:
    assert Settings(rtc_announce_ip="203.0.113.10").rtc_announce_ip == "203.0.113.10"
    with pytest.raises(ValueError, match="is not an IP address"):
        Settings(rtc_announce_ip="relay.example")
    with pytest.raises(ValueError, match="cannot reach"):
        Settings(rtc_announce_ip="0.0.0.0")
    with pytest.raises(ValueError, match="--ice-policy must be one of"):
        Settings(ice_policy="none")
    with pytest.raises(ValueError, match="needs a TURN server"):
        Settings(ice_policy="relay")
    with pytest.raises(ValueError, match="--turn-ttl-seconds must be positive"):
        Settings(turn_ttl_s=0)


def test_the_flags_reach_the_settings() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--turn",
            "turn:turn.example:3478",
            "--turn-secret",
            "s",
            "--turn-ttl",
            "60",
            "--ice-policy",
            "relay",
            "--rtc-ports",
            "50000-50199",
            "--rtc-announce-ip",
            "203.0.113.10",
        ]
    )
    settings = settings_from(args)
    assert settings.turn_ttl_s == 60
    assert settings.ice_policy == "relay"
    assert settings.rtc_ports == (50000, 50199)
    assert settings.rtc_announce_ip == "203.0.113.10"


def test_a_bad_range_stops_serve_at_startup_with_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--port", "0", "--rtc-ports", "50199-50000"]) == 2
    assert "--rtc-ports 50199-50000: the first port is above the last" in capsys.readouterr().err
