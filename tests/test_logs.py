"""Secrets and personal data never reach a log line."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import RedactingFilter, redact

TOKEN = "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    "phone",
    [
        "0912345678",
        "0912 345 678",
        "091.234.5678",
        "+84 912 345 678",
        "84912345678",
        "(091) 234-5678",
        "+84 (0) 912 345 678",
        "(+84) 912-345-678",
    ],
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


@pytest.mark.parametrize("token", ["123:AAHdqTcvCH1vGWJx", "1234:AAHdqTcvCH1vGWJxfSeo", TOKEN])
def test_every_token_the_settings_accept_is_masked(token: str) -> None:
    """The settings accept a bot id of 3 digits or more; redaction took 5 or more."""
    from bot.settings import TOKEN_SHAPE

    assert TOKEN_SHAPE.fullmatch(token)
    assert token not in redact(f"POST https://api.telegram.org/bot{token}/getMe")


def test_configured_secrets_are_masked_wherever_they_appear() -> None:
    from bot.logs import configure_secrets

    configure_secrets(["hook-secret-0123456789abcdef"])
    try:
        line = redact(
            "setWebhook {'url': 'https://x/hook', 'secret_token': 'hook-secret-0123456789abcdef'}"
        )
        assert "hook-secret" not in line and "<secret>" in line
    finally:
        configure_secrets([])
