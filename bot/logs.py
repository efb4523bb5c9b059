"""Logging that never carries a secret or a phone number.

httpx logs every request URL at INFO, and a Bot API URL holds the bot's token
(``…/bot7000001:AAH…/getMe``); a traceback can show a token or what a worker typed. The
filter below rewrites every record on its way to a handler: tokens become ``<token>``,
phone-like numbers keep only their last three digits.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{8,}")
# Vietnamese mobile and landline numbers, with or without +84, spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\w+])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?![\w])")


def redact(text: str) -> str:
    text = _TOKEN.sub("<token>", text)
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m[0])[-3:], text)


class RedactingFilter(logging.Filter):
    """Rewrites the message (and any traceback) of each record with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure(level: str) -> None:
    """The process's logging: one stream handler on the root, with the redacting filter."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    # httpx's request lines are useful at DEBUG only; at INFO they are one line per poll.
    logging.getLogger("httpx").setLevel(max(logging.getLevelName(level), logging.WARNING))
