"""Libra: an anonymous, end-to-end encrypted, serverless messenger over Tor onion services."""

__version__ = "0.1.0"
