"""Cryptography of the app: server secrets at rest, password hashes, opaque tokens."""
