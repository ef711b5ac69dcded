"""What an app's URL, header or form field must be to go on the wire as itself.

A URL or header the app gives goes to libcurl as the platform hands it over; one with a
character the wire cannot carry (a control, NUL, CR/LF, a space in a URL, a lone surrogate)
would be cut short, rejected by libcurl mid-task, or — CR/LF in a header, a quote in a
multipart name — become another header or part. Such input is a bad argument (401) before
any task exists.
"""

from __future__ import annotations

import re

URL = re.compile(r"^http(s)?://.+")
"""What the platform accepts as a URL (research §3.1 step 6, §4.1)."""
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
"""A header name (RFC 9110 §5.1)."""
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters, tab aside."""
_FORM_BREAKING = re.compile(r'["\x00-\x1f\x7f]')
"""What would end a quoted multipart parameter or its header line."""


def utf8(text: str) -> bool:
    """Whether ``text`` can be handed over in UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def sendable_url(url: object) -> bool:
    return isinstance(url, str) and bool(URL.match(url)) and not _UNSENDABLE.search(url) \
        and utf8(url)


def sendable_header(name: object, value: object) -> bool:
    return isinstance(name, str) and isinstance(value, str) and bool(_TOKEN.match(name)) \
        and not _CONTROL.search(value) and utf8(value)


def form_safe(text: str) -> bool:
    """Whether ``text`` can stand in a multipart part's quoted name, filename or type."""
    return not _FORM_BREAKING.search(text) and utf8(text)
