"""Encrypted profile store: SQLCipher 4 keyed by Argon2id(passphrase), one DB thread.

``Database`` opens/creates a profile and runs sync ``fn(conn)`` work on its thread; the
repository modules (``identity``, ``contacts``, ``conversations``, ``messages``, ``outbox``,
``ratchet``, ``settings``) are plain functions over a connection so services can compose them
in one transaction. Layout, formats and crash safety: docs/storage.md.
"""

from __future__ import annotations

from . import contacts, conversations, identity, messages, outbox, ratchet, settings
from ._conn import Connection, now_ms, transaction
from .database import Database, ProfilePaths
from .keyfile import DEFAULT_KDF, INSECURE_TEST_KDF, KdfParams
from .migrations import LATEST_VERSION, MIGRATIONS, Migration

__all__ = [
    "DEFAULT_KDF",
    "INSECURE_TEST_KDF",
    "LATEST_VERSION",
    "MIGRATIONS",
    "Connection",
    "Database",
    "KdfParams",
    "Migration",
    "ProfilePaths",
    "contacts",
    "conversations",
    "identity",
    "messages",
    "now_ms",
    "outbox",
    "ratchet",
    "settings",
    "transaction",
]
