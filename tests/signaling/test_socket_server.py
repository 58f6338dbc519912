"""SignalingServer overrides python-socketio internals: an upgrade that moves them fails here."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import socketio

from signaling.socket_server import SignalingServer, ack_requested

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer


def test_handle_event_internal_hook_still_exists() -> None:
    original = getattr(socketio.AsyncServer, "_handle_event_internal", None)
    assert original is not None, (
        "python-socketio no longer has AsyncServer._handle_event_internal: "
        "signaling/socket_server.py can no longer tell whether an ack was requested"
    )
    assert inspect.iscoroutinefunction(original)
    params = list(inspect.signature(original).parameters)
    assert params == ["self", "server", "sid", "eio_sid", "data", "namespace", "id"], params
    assert SignalingServer._handle_event_internal is not original
    # Our handler still gets called from where python-socketio dispatches events.
    source = inspect.getsource(socketio.AsyncServer._handle_event)
    assert "_handle_event_internal" in source


def test_handle_eio_message_hook_still_exists() -> None:
    original = getattr(socketio.AsyncServer, "_handle_eio_message", None)
    assert original is not None, (
        "python-socketio no longer has AsyncServer._handle_eio_message: "
        "signaling/socket_server.py can no longer measure message sizes"
    )
    assert inspect.iscoroutinefunction(original)
    assert list(inspect.signature(original).parameters) == ["self", "eio_sid", "data"]
    assert SignalingServer._handle_eio_message is not original


def test_ack_requested_defaults_to_false() -> None:
    assert ack_requested.get() is False


async def test_hook_tells_ack_from_no_ack(live_server: LiveServer, connect: Connector) -> None:
    """End to end: the same failure is an ack with a callback, an `error` event without."""
    _, t_token, _ = await live_server.individual_tokens()
    client = await connect(live_server, t_token)
    ack = await client.call("no.such.event", {})
    assert ack["error"]["code"] == "unknown_event"
    await client.assert_none("error", within=0.2)
    await client.emit("no.such.event", {})
    assert (await client.wait_for("error"))["event"] == "no.such.event"
