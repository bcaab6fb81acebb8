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
