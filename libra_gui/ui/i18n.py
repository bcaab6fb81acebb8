"""Translations: which languages exist, and installing one (Libra's catalogue and Qt's own).

Catalogues are ``libra_<code>.qm`` files compiled from ``translations/libra_<code>.ts``
(``tools/update_translations.py``). They are looked up in a frozen app's
``<bundle>/translations/`` (installers/libra.spec), in ``<prefix>/share/libra/translations``
(a pip install), then in ``translations/`` next to the package (a source checkout).

When: at start Libra follows the system's language (the profile, and with it the language
setting, is still locked); once it is unlocked the profile's choice is installed before the
main window is built (app.py, ``EngineFacade.appearanceLoaded``). A change in Settings takes
effect the next time Libra opens: windows already open keep the words they were built with.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

SOURCE_LANGUAGE = "en"
NAMES = {"en": "English", "de": "Deutsch"}
"""Each language's name in that language (shown untranslated, so anyone finds their own)."""

_installed: list[QTranslator] = []
_current = SOURCE_LANGUAGE


def translation_dirs() -> list[Path]:
    """Where ``libra_<code>.qm`` files may be, most specific first."""
    dirs = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        dirs.append(Path(frozen) / "translations")
    dirs.append(Path(sys.prefix) / "share" / "libra" / "translations")
    dirs.append(Path(__file__).resolve().parents[2] / "translations")
    return dirs


def catalogue(code: str) -> Path | None:
    """The compiled catalogue for ``code``, if one ships."""
    for folder in translation_dirs():
        path = folder / f"libra_{code}.qm"
        if path.is_file():
            return path
    return None


def available() -> list[str]:
    """Language codes Libra can show: English (the source) and every shipped catalogue."""
    codes = {SOURCE_LANGUAGE}
    for folder in translation_dirs():
        codes.update(p.stem.removeprefix("libra_") for p in folder.glob("libra_*.qm"))
    return sorted(codes, key=lambda c: (c != SOURCE_LANGUAGE, c))


def display_name(code: str) -> str:
    return NAMES.get(code, code)


def system_language() -> str:
    """The first of the system's UI languages that Libra has, else English."""
    have = set(available())
    for name in QLocale.system().uiLanguages():
        code = name.replace("-", "_").split("_")[0].lower()
        if code in have:
            return code
    return SOURCE_LANGUAGE


def current() -> str:
    """The language installed now."""
    return _current


def install(language: str = "") -> str:
    """Install ``language`` ("" follows the system); returns the code now in use.

    Replaces what an earlier call installed. Qt's own catalogue (qtbase: the buttons of
    standard dialogs) comes along when Qt ships one for that language.
    """
    global _current
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("create the QApplication first")
    code = language or system_language()
    if code != SOURCE_LANGUAGE and catalogue(code) is None:
        code = SOURCE_LANGUAGE  # a setting from a build with more languages
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    if code != SOURCE_LANGUAGE:
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        for name, folder in ((f"qtbase_{code}", qt_dir), (f"libra_{code}", None)):
            translator = QTranslator(app)
            path = catalogue(code) if folder is None else Path(folder) / f"{name}.qm"
            if path is not None and translator.load(str(path)):
                app.installTranslator(translator)
                _installed.append(translator)
    _current = code
    return code
