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
from ..core.crypto.alias import AliasSyntaxError
from ..core.net.tor import errors as tor
from ..core.protocol.uri import InviteError, InviteVersionError
from ..core.services import app_settings, backup, files, lookup
from ..core.services.contacts import ContactError, KeyChanged
from ..core.services.direct_policy import PolicyError
from ..core.services.messaging import NotConnected, UnknownContact
from ..core.services.qr import NotAnInvite, QrError
from ..core.services.trust import TrustError
from .engine import EngineStopped, LookupExpired, NotOnline, NotUnlocked

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
    backup.NotABackup: (
        QT_TRANSLATE_NOOP("UserMessages", "This is not a Libra backup"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The folder you chose holds no Libra profile. Choose the folder that was made with "
            "“Make a backup” (it contains profile.db and profile.hdr).",
        ),
        (),
    ),
    backup.BackupDestinationNotEmpty: (
        QT_TRANSLATE_NOOP("UserMessages", "Choose an empty folder"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "A backup goes into a new or empty folder, so it is never mixed with other files. "
            "Create a new folder and choose it.",
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
    AliasSyntaxError: (
        QT_TRANSLATE_NOOP("UserMessages", "Check the words"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "An alias is three words from Libra's word list, like amber-falcon-canyon. Check "
            "the spelling with your contact.",
        ),
        (),
    ),
    lookup.AliasNotFound: (
        QT_TRANSLATE_NOOP("UserMessages", "Nobody found with these words"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Check the words, and ask your contact to turn on “Let people find me”. A private "
            "alias is found only with its invite link or QR code.",
        ),
        (),
    ),
    lookup.ImpostorBeacon: (
        QT_TRANSLATE_NOOP("UserMessages", "Not the right person"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Whoever answered is not the owner of these words, so nothing was sent. Ask your "
            "contact for their invite link or QR code instead.",
        ),
        (),
    ),
    lookup.RequestRefused: (
        QT_TRANSLATE_NOOP("UserMessages", "Request not taken"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Your contact's Libra did not take the request (the details say why). Try again "
            "later, or ask your contact for a new invite.",
        ),
        (),
    ),
    lookup.LookupFailed: (
        QT_TRANSLATE_NOOP("UserMessages", "Could not reach them"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The connection over Tor broke off. Check that Libra is connected (status bar), "
            "then try again.",
        ),
        (),
    ),
    LookupExpired: (
        QT_TRANSLATE_NOOP("UserMessages", "Search again"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "Too much time has passed since the search. Search again, then send."
        ),
        (),
    ),
    NotConnected: (
        QT_TRANSLATE_NOOP("UserMessages", "Your contact is not connected"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "This works only while your contact is online (their dot is purple or green). Try "
            "again when they are.",
        ),
        (),
    ),
    TrustError: (
        QT_TRANSLATE_NOOP("UserMessages", "Trust not changed"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Trust goes up one step at a time, and not while a key change waits for your "
            "decision. The details say what is missing.",
        ),
        (),
    ),
    PolicyError: (
        QT_TRANSLATE_NOOP("UserMessages", "Setting not changed"),
        QT_TRANSLATE_NOOP("UserMessages", "Libra cannot use that value; the details say why."),
        (),
    ),
    files.SourceChanged: (
        QT_TRANSLATE_NOOP("UserMessages", "The file changed"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The file was changed, moved or deleted before it was sent completely. Send it again.",
        ),
        (),
    ),
    files.SourceError: (
        QT_TRANSLATE_NOOP("UserMessages", "Cannot read this file"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Check that the file exists and that you may open it, then try again.",
        ),
        (),
    ),
    files.FileTooLarge: (
        QT_TRANSLATE_NOOP("UserMessages", "File too large"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The file is larger than Libra allows. Share a smaller file, or split it.",
        ),
        (),
    ),
    files.NotEnoughSpace: (
        QT_TRANSLATE_NOOP("UserMessages", "Not enough disk space"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "Free some space on this computer, then accept the file again."
        ),
        (),
    ),
    files.SaveError: (
        QT_TRANSLATE_NOOP("UserMessages", "Could not save the file"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Choose another folder: one you may write to, on a disk with free space.",
        ),
        (),
    ),
    files.TransferStateError: (
        QT_TRANSLATE_NOOP("UserMessages", "Not possible any more"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The file transfer has moved on (it finished or was cancelled). See the file in the "
            "chat.",
        ),
        (),
    ),
    files.FileTransferError: (
        QT_TRANSLATE_NOOP("UserMessages", "File transfer problem"),
        QT_TRANSLATE_NOOP("UserMessages", "The details below say why. Try again."),
        (),
    ),
    NotAnInvite: (
        QT_TRANSLATE_NOOP("UserMessages", "Not a Libra invite"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "This QR code holds something else. Ask your contact to show the code from "
            "“My alias” in Libra.",
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
    # Settings (core/services/app_settings.py): the details name the line or value.
    app_settings.BridgeLineError: (
        QT_TRANSLATE_NOOP("UserMessages", "Check the bridge lines"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "A bridge line is incomplete or not valid (the details say which). Copy the lines "
            "again exactly as you got them, one bridge per line, or remove that line.",
        ),
        (),
    ),
    app_settings.TransportMissing: (
        QT_TRANSLATE_NOOP("UserMessages", "These bridges cannot be used here"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "The program for this kind of bridge is missing. Reinstall Libra, or get bridges "
            "of another kind (obfs4 or snowflake).",
        ),
        (),
    ),
    app_settings.TorLineError: (
        QT_TRANSLATE_NOOP("UserMessages", "Check the extra Tor settings"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "One of the extra Tor settings cannot be used (the details say which and why). "
            "Correct or remove it, then save again.",
        ),
        (),
    ),
    app_settings.TorProgramError: (
        QT_TRANSLATE_NOOP("UserMessages", "Check how Libra reaches Tor"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Choose the Tor program file or enter the running Tor's control port, or switch back "
            "to the Tor that comes with Libra.",
        ),
        (),
    ),
    app_settings.PassphraseTooShort: (
        QT_TRANSLATE_NOOP("UserMessages", "Passphrase too short"),
        QT_TRANSLATE_NOOP(
            "UserMessages",
            "Use at least 8 characters. Four or more random words are strong and easy to remember.",
        ),
        (),
    ),
    app_settings.SettingsError: (
        QT_TRANSLATE_NOOP("UserMessages", "Setting not saved"),
        QT_TRANSLATE_NOOP(
            "UserMessages", "Correct what the details below describe, then save again."
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
