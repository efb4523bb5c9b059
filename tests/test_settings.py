"""Settings: config.toml, environment overrides, and start-up errors that name the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_is_valid_and_matches_the_defaults() -> None:
    shipped = load_settings(ROOT / "config.toml")
    assert shipped.model_dump() == Settings().model_dump()


def test_file_values_and_environment_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('database_url = "sqlite:///a.db"\n[dialog]\nresume_after_hours = 2\n')
    settings = load_settings(config)
    assert settings.database_url == "sqlite:///a.db"
    assert settings.dialog.to_config().resume_after == dt.timedelta(hours=2)
    monkeypatch.setenv("SANGKIEN_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/x")
    monkeypatch.setenv("SANGKIEN_DIALOG__RESUME_AFTER_HOURS", "5")
    settings = load_settings(config)
    assert settings.database_url.startswith("postgresql")
    assert settings.dialog.resume_after_hours == 5


def test_config_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "other.toml"
    config.write_text("seed_demo = false\n")
    monkeypatch.setenv("SANGKIEN_CONFIG", str(config))
    assert load_settings().seed_demo is False


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("[dialog]\nresume_after_hours = -1\n", "dialog.resume_after_hours"),
        ("[dialog]\nmax_answer_chars = 'many'\n", "dialog.max_answer_chars"),
        ('database_url = "mysql://x/y"\n', "database_url"),
        ('log_level = "LOUD"\n', "log_level"),
        ("colour = 'blue'\n", "colour"),
        ('[rankings]\nday = "friday"\n', "rankings.day"),
        ('[rankings]\ntime = "4pm"\n', "rankings.time"),
        ('[reminders]\nquiet_from = "25:00"\n', "reminders.quiet_from"),
        ('[jobs]\ntimezone = "Asia/Hanoi_City"\n', "jobs.timezone"),
        ('[server]\npublic_base_url = "bot.congdoan.vn"\n', "server.public_base_url"),
        ("[telegram]\nper_second = 0\n", "telegram.per_second"),
        ("[telegram]\nchat_per_second = -1\n", "telegram.chat_per_second"),
        ("[telegram]\nconnections = 0\n", "telegram.connections"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, content: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=rf"\b{key}\b"):
        load_settings(config)


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_a_bad_value_names_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[dialog]\nmax_answer_chars = 5\n")
    with pytest.raises(SettingsError, match=r"from .*c\.toml"):
        load_settings(config)
    monkeypatch.setenv("SANGKIEN_DIALOG__MAX_ANSWER_CHARS", "7")
    with pytest.raises(SettingsError, match="from environment SANGKIEN_DIALOG__MAX_ANSWER_CHARS"):
        load_settings(config)
    monkeypatch.setenv("SANGKIEN_TELEGRAM__TOKEN", "x" * 5000)
    monkeypatch.setenv("SANGKIEN_TELEGRAM__MODE", "carrier-pigeon")
    with pytest.raises(SettingsError) as raised:
        load_settings(config)
    assert "x" * 20 not in str(raised.value)  # a secret is never echoed back


@pytest.mark.parametrize(
    "token",
    [
        "YOUR_TOKEN_HERE",
        "your-telegram-token",
        "changeme",
        "123456789:AA…",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
        "123456789:xxxxxxxxxxxxxxxxxxxx",
        "<token>",
        "1234567890:your_secret_here",
    ],
)
def test_placeholders_are_refused(token: str) -> None:
    from bot.settings import ChannelSettings

    assert "placeholder" in " ".join(ChannelSettings(token=token).problems("telegram"))


def test_real_tokens_are_never_taken_for_placeholders() -> None:
    import random
    import string

    from bot.settings import ChannelSettings

    rng = random.Random(20261202)
    alphabet = string.ascii_letters + string.digits + "_-"
    tricky = ["AAHxxxq", "AAtokenZ", "AAyourQ", "AAchangeW", "AAexampleK", "AA-secret-"]
    for n in range(3000):
        secret = "".join(rng.choice(alphabet) for _ in range(35))
        if n < len(tricky):
            secret = tricky[n] + secret[len(tricky[n]) :]
        token = f"{rng.randint(10**8, 10**10)}:{secret}"
        assert ChannelSettings(token=token).problems("telegram") == [], token
