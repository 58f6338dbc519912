"""The one error type the domain raises: a refusal with a machine-readable code."""

from __future__ import annotations


class DomainError(ValueError):
    """A command the current state refuses. `code` goes on the wire unchanged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
