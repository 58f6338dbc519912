"""The `telehealth` command: serve, room create, invite, audit verify, ops-link."""

from server.cli.main import main

__all__ = ["main"]
