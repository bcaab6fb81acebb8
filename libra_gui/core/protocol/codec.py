"""Strict msgpack: the only way bytes from outside become Python values.

msgpack's own unpacker raises half a dozen exception types and happily builds huge or deeply
nested objects; this module bounds every dimension *before* allocation (lengths are checked by
the C unpacker) and turns every failure into :class:`MalformedRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from ..errors import MalformedRecord, RecordTooLarge


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one decoded msgpack document."""

    max_bytes: int = 64 * 1024
    max_depth: int = 8
    max_str: int = 16 * 1024
    max_bin: int = 64 * 1024
    max_array: int = 1024
    max_map: int = 64


DEFAULT_LIMITS = Limits()


def pack(value: Any) -> bytes:
    """Encode plain values (dict/list/str/bytes/int/bool/None) deterministically."""
    return msgpack.packb(value, use_bin_type=True)


def unpack_strict(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Decode exactly one msgpack value from ``data`` within ``limits``.

    Raises RecordTooLarge / MalformedRecord (both ProtocolError) and nothing else.
    """
    if len(data) > limits.max_bytes:
        raise RecordTooLarge(f"record of {len(data)} bytes exceeds {limits.max_bytes}")
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=limits.max_str,
            max_bin_len=limits.max_bin,
            max_array_len=limits.max_array,
            max_map_len=limits.max_map,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        # ValueError covers ExtraData, FormatError, StackError, incomplete input and
        # over-limit lengths; TypeError covers unhashable map keys; UnicodeDecodeError is a
        # ValueError too.
        raise MalformedRecord(f"invalid msgpack: {type(exc).__name__}") from None
    _check_depth(value, limits.max_depth)
    return value


def _check_depth(value: object, max_depth: int) -> None:
    """Reject containers nested deeper than ``max_depth`` (iterative: no recursion limit)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | dict):
            if depth >= max_depth:
                raise MalformedRecord(f"nesting deeper than {max_depth}")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, float):
            raise MalformedRecord("floating-point values are not allowed")
