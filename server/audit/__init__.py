"""The tamper-evident audit log and its verifier."""
