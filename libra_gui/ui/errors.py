"""The one place where typed core errors become messages a person can act on.

Every dialog and panel shows errors through :func:`user_message`: a translated title, a
translated sentence that says what to do, the core's own (English, specific) text as details,
and the actions that can help (the Tor panel turns them into buttons). The table is keyed by
exception class and searched along the class's MRO, so a subclass without an entry inherits
its parent's message and a new core error is never shown as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from ..core import errors as core
from ..core.net.tor import errors as tor
from ..core.protocol.uri import InviteError, InviteVersionError
from ..core.services.contacts import ContactError, KeyChanged
from ..core.services.messaging import UnknownContact
from ..core.services.qr import QrError
from .engine import EngineStopped, NotOnline, NotUnlocked

Action = Literal["retry", "choose_tor", "bridges"]
_CTX = "UserMessages"  # also spelled out in every marker: lupdate needs a literal


@dataclass(frozen=True)
class UserMessage:
    """What the window shows for an error."""

    title: str
    text: str
    details: str = ""
    actions: tuple[Action, ...] = ()


_TOR_ACTIONS: tuple[Action, ...] = ("retry", "choose_tor")
_BRIDGE_ACTIONS: tuple[Action, ...] = ("bridges", "retry")

# (title, what to do, actions). Strings are marked for lupdate here, translated at lookup.
_MESSAGES: dict[type[BaseException], tuple[str, str, tuple[Action, ...]]] = {
    core.WrongPassphrase: (
        QT_TRANSLATE_NOOP("UserMessages", "Wrong passphrase"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "That passphrase does not unlock this profile. Check Caps Lock and the keyboard "
            "layout, then try again.",
        ),
        (),
    ),
    core.ProfileInUse: (
        QT_TRANSLATE_NOOP("UserMessages", "Libra is already open"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "This profile is open in another Libra window or in libra-cli. Close it there, "
            "then try again.",
        ),
        (),
    ),
    core.ProfileNotFound: (
        QT_TRANSLATE_NOOP("UserMessages", "No profile in this folder"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "There is no Libra profile here. Choose another folder, or create a profile.",
        ),
        (),
    ),
    core.ProfileExists: (
        QT_TRANSLATE_NOOP("UserMessages", "A profile already exists"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "This folder already holds a Libra profile. Unlock it instead, or start Libra with "
            "another folder.",
        ),
        (),
    ),
    core.CorruptStore: (
        QT_TRANSLATE_NOOP("UserMessages", "The profile cannot be read"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Its files are damaged or were written by a newer Libra. Update Libra; if that does "
            "not help, restore the profile folder from a backup.",
        ),
        (),
    ),
    core.StorageError: (
        QT_TRANSLATE_NOOP("UserMessages", "Libra could not save"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Reading or writing your profile failed. Check that the disk is not full and the "
            "folder is writable, then try again.",
        ),
        (),
    ),
    tor.TorNotFound: (
        QT_TRANSLATE_NOOP("UserMessages", "Tor was not found"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Libra needs the Tor program to reach your contacts privately. Choose the Tor "
            "program, or reinstall Libra (its installer includes Tor).",
        ),
        ("choose_tor", "retry"),
    ),
    tor.TorConfigError: (
        QT_TRANSLATE_NOOP("UserMessages", "Tor refused a setting"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "One of your bridge or extra Tor lines is not valid. Correct or remove it, then try "
            "again.",
        ),
        _BRIDGE_ACTIONS,
    ),
    tor.TorBootstrapStuck: (
        QT_TRANSLATE_NOOP("UserMessages", "Tor cannot reach the Tor network"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Check your internet connection and try again. If Tor is blocked where you are, "
            "add bridges.",
        ),
        _BRIDGE_ACTIONS,
    ),
    tor.TorError: (
        QT_TRANSLATE_NOOP("UserMessages", "Tor stopped working"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Libra could not run Tor. Try again; if it keeps failing, choose another Tor program.",
        ),
        _TOR_ACTIONS,
    ),
    NotOnline: (
        QT_TRANSLATE_NOOP("UserMessages", "Not connected yet"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Wait until Libra is connected to Tor (see the status bar), then try again.",
        ),
        (),
    ),
    KeyChanged: (
        QT_TRANSLATE_NOOP("UserMessages", "Safety warning: keys changed"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "This contact now presents different keys. Their new keys are not used until you "
            "verify the contact again and accept them.",
        ),
        (),
    ),
    ContactError: (
        QT_TRANSLATE_NOOP("UserMessages", "Contact not changed"),
        QT_TRANSLATE_NOOP("UserMessages", "Libra could not do that with this contact."),
        (),
    ),
    UnknownContact: (
        QT_TRANSLATE_NOOP("UserMessages", "Contact not found"),
        QT_TRANSLATE_NOOP("UserMessages", "This contact no longer exists. Choose another one."),
        (),
    ),
    InviteVersionError: (
        QT_TRANSLATE_NOOP("UserMessages", "Update Libra"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "This invite was made by a newer Libra. Update Libra, then try again."
        ),
        (),
    ),
    InviteError: (
        QT_TRANSLATE_NOOP("UserMessages", "Not a valid invite"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "The invite link or code is damaged. Ask your contact to send it again."
        ),
        (),
    ),
    QrError: (
        QT_TRANSLATE_NOOP("UserMessages", "No invite in this image"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Libra could not read a Libra QR code from it. Try a sharper, complete image.",
        ),
        (),
    ),
    core.CardError: (
        QT_TRANSLATE_NOOP("UserMessages", "Not a valid contact card"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "The card is damaged or was changed. Ask your contact to send it again."
        ),
        (),
    ),
    core.ProtocolError: (
        QT_TRANSLATE_NOOP("UserMessages", "Libra cannot accept this"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "Correct what the details below describe, then try again."
        ),
        (),
    ),
    EngineStopped: (
        QT_TRANSLATE_NOOP("UserMessages", "Libra is closing"),
        QT_TRANSLATE_NOOP("UserMessages", "Start Libra again to continue."),
        (),
    ),
    NotUnlocked: (
        QT_TRANSLATE_NOOP("UserMessages", "Profile locked"),
        QT_TRANSLATE_NOOP("UserMessages", "Unlock your profile first."),
        (),
    ),
    core.LibraError: (
        QT_TRANSLATE_NOOP("UserMessages", "That did not work"),
        QT_TRANSLATE_NOOP("UserMessages", "The details below say why. Try again."),
        (),
    ),
}

_BUG = (
    QT_TRANSLATE_NOOP("UserMessages", "Something went wrong"),
    QT_TRANSLATE_NOOP(
        "UserMessages",
        "This is a bug in Libra, not something you did. Restart Libra; if it happens again, "
        "please report it.",
    ),
)


def user_message(error: BaseException) -> UserMessage:
    """The translated message for ``error`` (details: the core's own text, never a trace)."""
    for cls in type(error).__mro__:
        entry = _MESSAGES.get(cls)
        if entry is not None:
            title, text, actions = entry
            return UserMessage(_tr(title), _tr(text), str(error), actions)
    # Not a LibraError: a bug. Its text may hold anything, so show only the type.
    return UserMessage(_tr(_BUG[0]), _tr(_BUG[1]), type(error).__name__)


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)
