"""The TURN tests' coturn: one per test session, on loopback, killed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.turn.coturn import Coturn, running_coturn


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with running_coturn(tmp_path_factory.mktemp("coturn")) as started:
        yield started
