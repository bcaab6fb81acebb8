"""User-visible words for states: status dots, trust levels, message states, Tor phases.

One place, so the tooltip, the screen-reader text and the panel always say the same thing.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QDate, QDateTime, QLocale

from .states import TorStatus


def path_text(state: str) -> str:
    """How a contact is reached now (tooltip and screen-reader text of the status dot)."""
    texts = {
        "offline": QCoreApplication.translate(
            "States", "Offline: messages wait until the contact is reachable"
        ),
        "tor": QCoreApplication.translate("States", "Connected through Tor"),
        "connecting-direct": QCoreApplication.translate(
            "States", "Connected through Tor, trying a direct connection"
        ),
        "direct": QCoreApplication.translate(
            "States", "Connected directly (faster; your contact can see your IP address)"
        ),
        "fallback": QCoreApplication.translate(
            "States", "Connected through Tor (a direct connection was not possible)"
        ),
    }
    return texts.get(state, texts["offline"])


def path_short(state: str) -> str:
    texts = {
        "offline": QCoreApplication.translate("States", "offline"),
        "tor": QCoreApplication.translate("States", "via Tor"),
        "connecting-direct": QCoreApplication.translate("States", "connecting directly…"),
        "direct": QCoreApplication.translate("States", "direct"),
        "fallback": QCoreApplication.translate("States", "via Tor (fallback)"),
    }
    return texts.get(state, texts["offline"])


def trust_text(trust: str) -> str:
    texts = {
        "unknown": QCoreApplication.translate("States", "Not verified"),
        "known": QCoreApplication.translate("States", "Not verified yet"),
        "verified": QCoreApplication.translate("States", "Verified"),
        "trusted": QCoreApplication.translate("States", "Trusted"),
    }
    return texts.get(trust, texts["unknown"])


def message_state_text(state: str) -> str:
    texts = {
        "queued": QCoreApplication.translate("States", "Waiting to be sent"),
        "sent": QCoreApplication.translate("States", "Sent"),
        "delivered": QCoreApplication.translate("States", "Delivered"),
        "received": QCoreApplication.translate("States", "Received"),
        "pending": QCoreApplication.translate("States", "Received"),
    }
    return texts.get(state, state)


def tor_phase_text(status: TorStatus) -> str:
    """One line for the status bar."""
    phase = status.phase
    if phase == "bootstrapping":
        return QCoreApplication.translate("States", "Connecting to Tor… %1%").replace(
            "%1", str(status.percent)
        )
    texts = {
        "idle": QCoreApplication.translate("States", "Not connected"),
        "starting": QCoreApplication.translate("States", "Starting Tor…"),
        "ready": QCoreApplication.translate("States", "Connected to Tor"),
        "restarting": QCoreApplication.translate("States", "Tor stopped; restarting…"),
        "failed": QCoreApplication.translate("States", "Not connected: Tor could not start"),
        "stopped": QCoreApplication.translate("States", "Tor stopped"),
    }
    return texts[phase]


def unread_text(count: int) -> str:
    if count == 1:
        return QCoreApplication.translate("States", "1 unread message")
    return QCoreApplication.translate("States", "%1 unread messages").replace("%1", str(count))


def day_text(ms: int) -> str:
    """Day separator: Today, Yesterday, a weekday this week, else the full date."""
    date = QDateTime.fromMSecsSinceEpoch(ms).date()
    today = QDate.currentDate()
    days = date.daysTo(today)
    if days == 0:
        return QCoreApplication.translate("States", "Today")
    if days == 1:
        return QCoreApplication.translate("States", "Yesterday")
    locale = QLocale()
    if 1 < days < 7:
        return locale.dayName(date.dayOfWeek())
    return locale.toString(date, QLocale.FormatType.LongFormat)


def time_text(ms: int) -> str:
    """A message's clock time in the user's locale."""
    return QLocale().toString(
        QDateTime.fromMSecsSinceEpoch(ms).time(), QLocale.FormatType.ShortFormat
    )


def when_text(ms: int) -> str:
    """Contact list: the time for today, else the short date."""
    moment = QDateTime.fromMSecsSinceEpoch(ms)
    if moment.date() == QDate.currentDate():
        return time_text(ms)
    days = moment.date().daysTo(QDate.currentDate())
    locale = QLocale()
    if 0 < days < 7:
        return locale.dayName(moment.date().dayOfWeek(), QLocale.FormatType.ShortFormat)
    return locale.toString(moment.date(), QLocale.FormatType.ShortFormat)


def trust_explained(trust: str) -> str:
    """One sentence per trust level, for the contact details screen."""
    texts = {
        "unknown": QCoreApplication.translate(
            "States", "You have not checked that this is really them."
        ),
        "known": QCoreApplication.translate(
            "States",
            "You have not checked that this is really them. Compare safety numbers or ask a "
            "question only they can answer.",
        ),
        "verified": QCoreApplication.translate(
            "States", "You checked that this is really them: nobody is in the middle."
        ),
        "trusted": QCoreApplication.translate(
            "States", "Verified, and you trust this person (for example, for direct connections)."
        ),
    }
    return texts.get(trust, texts["unknown"])


def direct_policy_text(policy: str, default: str) -> str:
    """The choices for a contact's direct connection (``default``: what "default" means)."""
    if policy == "allowed":
        return QCoreApplication.translate("States", "Allowed with this contact")
    if policy == "off":
        return QCoreApplication.translate("States", "Never: always through Tor")
    if default == "known":
        return QCoreApplication.translate("States", "Automatic (all contacts)")
    if default == "off":
        return QCoreApplication.translate("States", "Automatic (off for everyone)")
    return QCoreApplication.translate("States", "Automatic (verified contacts only)")


def ip_warning() -> str:
    """core.services.direct_policy.IP_WARNING, in the user's language."""
    return QCoreApplication.translate(
        "States",
        "A direct connection is faster, but it shows your IP address (and so roughly where you "
        "are) to this contact, and to any STUN/TURN server you set up. When it is off, "
        "everything goes through Tor and nobody learns your IP address.",
    )


def size_text(size: int) -> str:
    """A file size people read: 912 bytes, 14 KB, 3.4 MB, 1.2 GB (decimal units)."""
    locale = QLocale()
    if size < 1000:
        return QCoreApplication.translate("States", "%1 bytes").replace("%1", str(size))
    for unit, factor in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = size / factor
        if value < 1000 or unit == "GB":
            digits = 1 if value < 10 else 0
            return f"{locale.toString(value, 'f', digits)} {unit}"
    return str(size)  # unreachable


def file_state_text(
    state: str, direction: str, reason: str | None, done: int, size: int, name: str
) -> str:
    """What a file bubble says under the file name."""
    percent = int(done * 100 / size) if size else 100
    if state == "offered":
        if direction == "out":
            return QCoreApplication.translate("States", "Waiting for %1 to accept").replace(
                "%1", name
            )
        return QCoreApplication.translate("States", "Accept to download it")
    if state in ("accepted", "transferring"):
        if reason == "stalled":
            return QCoreApplication.translate("States", "Waiting for the connection… %1%").replace(
                "%1", str(percent)
            )
        if direction == "out":
            return QCoreApplication.translate("States", "Sending… %1%").replace("%1", str(percent))
        return QCoreApplication.translate("States", "Downloading… %1%").replace("%1", str(percent))
    if state == "done":
        return (
            QCoreApplication.translate("States", "Sent")
            if direction == "out"
            else QCoreApplication.translate("States", "Received")
        )
    if state == "cancelled":
        if reason and reason.startswith("peer:"):
            return QCoreApplication.translate("States", "Cancelled by %1").replace("%1", name)
        if reason in ("too_large", "no_space"):
            return QCoreApplication.translate("States", "Declined: too large for the space left")
        return QCoreApplication.translate("States", "Cancelled")
    if direction == "out":
        return QCoreApplication.translate("States", "Failed: send it again")
    return QCoreApplication.translate("States", "Failed: ask %1 to send it again").replace(
        "%1", name
    )


def fingerprint_text(fingerprint: bytes) -> str:
    """A key fingerprint as groups of four hex digits (for reading aloud)."""
    digits = fingerprint.hex().upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
