"""Secrets and personal data never reach a log line."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import RedactingFilter, redact

TOKEN = "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    "phone", ["0912345678", "0912 345 678", "091.234.5678", "+84 912 345 678", "84912345678"]
)
def test_phone_numbers_keep_only_their_last_digits(phone: str) -> None:
    masked = redact(f"Số của tôi là {phone} nhé")
    assert phone not in masked and "***" in masked


def test_tokens_in_urls_are_masked() -> None:
    line = f'HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getMe "HTTP/1.1 200 OK"'
    assert TOKEN not in redact(line) and "/bot<token>/getMe" in redact(line)


def test_amounts_and_dates_are_left_alone() -> None:
    assert redact("3.500.000 đồng từ 15/3/2026, 30 phút") == "3.500.000 đồng từ 15/3/2026, 30 phút"


def test_the_filter_masks_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling %s for %s", f"/bot{TOKEN}/getMe", "0912 345 678")
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logger.exception("start failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert TOKEN not in written and "0912 345 678" not in written
    assert "<token>" in written and "start failed" in written and "ValueError" in written
