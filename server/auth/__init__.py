"""Tokens and identity: signing keys, EdDSA join tokens, identities, join links."""
