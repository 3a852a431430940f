"""Checks of user strings written into line-oriented files.

A track hub's ``hub.txt``, ``genomes.txt`` and ``trackDb.txt``, a VCF's header and INFO
column, a BED or narrowPeak line and a TSV header are all one record per line, with
fields split at tabs or spaces. A value from the config or the command line that holds
a newline (or another control character) would add a line of its own there: a hub
directive, a VCF header line, a BED record. Every writer checks such values here
first, so the refusal reads the same everywhere: one line naming the key and the value.
"""
from __future__ import annotations

import re
import unicodedata

from tfbinding.errors import InputError

__all__ = ["check_email", "check_identifier", "check_line_value"]

#: UCSC assembly names (hg19, mm10, GCF_000001405.40, T2T-CHM13), hub, track and task
#: names: letters, digits, ``_``, ``.``, ``-``; not starting with ``-`` or ``.``
IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
#: an address (``local@domain.tld``) without spaces, quotes, brackets or a second ``@``
EMAIL = re.compile(r"[A-Za-z0-9!#$%&*+/=?^_{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _control(value: str, allow_tab: bool) -> str | None:
    """The first control or line-separator character of ``value``, or None."""
    for char in value:
        if char == "\t" and allow_tab:
            continue
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return char
    return None


def check_line_value(value: object, what: str, *, allow_tab: bool = False, forbid: str = "") -> str:
    """``value`` as a string, when it can go into one field of one line of a text file.

    Parameters
    ----------
    value : object
        The value (converted with ``str``).
    what : str
        What it is, named first in the message (the config key, the option).
    allow_tab : bool, default False
        Let tabs through (a free-text field of a space-separated file).
    forbid : str, default ""
        Further characters the field may not hold (e.g. ``'"'`` inside a quoted value).

    Returns
    -------
    str

    Raises
    ------
    InputError
        A newline, carriage return, tab (unless allowed) or other control character
        (Unicode Cc, line and paragraph separators), or a character of ``forbid``.
    """
    text = str(value)
    bad = _control(text, allow_tab)
    if bad is not None:
        raise InputError(f"{what}: {text!r} holds a control character ({bad!r}), which would "
                         "break the line it is written on (or add one). Remove it")
    for char in forbid:
        if char in text:
            raise InputError(f"{what}: {text!r} may not hold {char!r} (it would end the field it "
                             "is written in). Remove it")
    return text


def check_identifier(value: object, what: str) -> str:
    """``value`` when it is a name of :data:`IDENTIFIER`'s kind (a UCSC assembly, a hub,
    track or task name).

    Raises
    ------
    InputError
        Any other character (a space, a newline, ``/``), or an empty name.
    """
    text = str(value)
    if not IDENTIFIER.fullmatch(text):
        raise InputError(f"{what}: {text!r} may hold only letters, digits, '_', '.' and '-' (and "
                         "not start with '.' or '-'), as UCSC assembly and track names do")
    return text


def check_email(value: object, what: str) -> str:
    """``value`` when it is one plain address (``me@example.org``).

    Raises
    ------
    InputError
        A control character (:func:`check_line_value`), or no plain ``local@domain.tld``.
    """
    text = check_line_value(value, what)
    if not EMAIL.fullmatch(text):
        raise InputError(f"{what}: {text!r} is no email address (one plain local@domain.tld, "
                         "without spaces or brackets); the hub specification requires a contact")
    return text
