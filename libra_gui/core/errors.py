"""Typed errors for everything Libra reports to a user, a script or a peer.

Every failure that can be caused by input (a network peer, a file, a passphrase) surfaces as
a subclass of :class:`LibraError` with a message a person can act on. Anything else escaping
the core is a bug.
"""

from __future__ import annotations


class LibraError(Exception):
    """Base class: a failure with a message meant for the user or a calling script."""


# --- bytes from outside -------------------------------------------------------------------


class ProtocolError(LibraError):
    """Bytes from a peer (or a file) that do not form a valid Libra record."""


class RecordTooLarge(ProtocolError):
    """A length prefix, frame or decompressed body above the hard limit."""


class MalformedRecord(ProtocolError):
    """The bytes parse but violate the schema (types, ranges, unknown fields)."""


class VersionMismatch(ProtocolError):
    """The peer speaks no protocol version we support."""


class HandshakeError(ProtocolError):
    """The Noise handshake failed: wrong keys, bad signature, tampering or wrong order."""


class CardError(ProtocolError):
    """A contact card that fails validation or whose signature does not verify."""


# --- crypto sessions ----------------------------------------------------------------------


class CryptoError(LibraError):
    """A cryptographic check failed."""


class DecryptionError(CryptoError):
    """A ciphertext was tampered, truncated, replayed or belongs to another session."""


class SessionError(CryptoError):
    """A ratchet session could not be created, loaded or used."""


# --- storage -------------------------------------------------------------------------------


class StorageError(LibraError):
    """The encrypted store could not be opened, read or written."""


class WrongPassphrase(StorageError):
    """The passphrase does not unlock this profile. Nothing was changed."""


class ProfileNotFound(StorageError):
    """No Libra profile exists in the data directory."""


class ProfileExists(StorageError):
    """A Libra profile already exists in the data directory."""


class CorruptStore(StorageError):
    """The store's header or database is damaged or from an unknown version."""


class ProfileInUse(StorageError):
    """Another Libra process has this profile open."""
