"""Logging that never carries a secret or a phone number.

httpx logs every request URL at INFO, and a Bot API URL holds the bot's token
(``…/bot7000001:AAH…/getMe``); a traceback can show a token or what a worker typed. The
filter below rewrites every record on its way to a handler: tokens become ``<token>``,
phone-like numbers keep only their last three digits.
"""

from __future__ import annotations

import logging
import re

# A bot token: "<bot id>:<secret>". The settings accept exactly this shape, and the log hides
# exactly this shape: one rule for both.
TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{8,}")
_TOKEN = re.compile(rf"(?<!\d){TOKEN_SHAPE.pattern}")
# Vietnamese mobile and landline numbers, with or without +84 (or "(+84)", "+84 (0)"),
# spaces, dots, dashes or the area code in brackets: "(091) 234-5678".
_PHONE = re.compile(
    r"(?<![\w+])(?:\(?\+?84\)?[\s.-]?(?:\(0\)[\s.-]?)?|\(?0)(?:[\s.)-]{0,2}\d){8,10}(?![\w])"
)
# Secrets the process was configured with (webhook secrets, tokens of any shape).
_secrets: list[str] = []


def configure_secrets(secrets: list[str]) -> None:
    """Mask these exact values too, wherever they appear (a webhook secret in the
    parameters of setWebhook at DEBUG)."""
    _secrets[:] = sorted({secret for secret in secrets if len(secret) >= 8}, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "<secret>")
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


def configure(level: str, secrets: list[str] | None = None) -> None:
    """The process's logging: one stream handler on the root, with the redacting filter."""
    configure_secrets(secrets or [])
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    # httpx's request lines are useful at DEBUG only; at INFO they are one line per poll.
    logging.getLogger("httpx").setLevel(max(logging.getLevelName(level), logging.WARNING))
    # python-telegram-bot logs every Bot API call's parameters and answer at DEBUG: the
    # updates, with people's names and what they wrote. Never below INFO.
    logging.getLogger("telegram").setLevel(max(logging.getLevelName(level), logging.INFO))
