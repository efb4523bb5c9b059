"""One worker's conversation, said the same way on the terminal, Telegram and Zalo, must store
the same initiative: the channels differ only in how choices are shown and pressed."""

from __future__ import annotations

import asyncio
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.models import Initiative, SimilarBand, SimilarEntry
from tests.fakes.telegram import TelegramUser
from tests.fakes.zalo import ZaloUser
from tests.utils.bots import on_telegram, on_zalo
from tests.utils.chat import dispatcher_for

# What the worker types; numbers answer the choices (buttons on Telegram are pressed instead).
SCRIPT = [
    ("/start HN-DM01", "tên là gì"),
    ("Nguyễn Thị Lan", "muốn làm gì"),
    ("1", "khó khăn"),
    ("May cat hay ket vai, moi ca phai dung may 30 phut", "đã thay đổi gì"),
    ("Gắn thêm thanh dẫn vải trước lưỡi cắt", "được lợi gì nhất"),
    ("2", "bao nhiêu tiền"),
    ("3tr5", "thuộc mảng nào"),
    ("1", "cách mới chưa"),
    ("15/3/2026", "cùng làm"),
    ("Trần Văn Minh", "Xem lại"),
    ("1", "Cảm ơn"),
]
FIELDS = (
    "title",
    "problem",
    "solution",
    "benefit_kind",
    "benefit_detail",
    "benefit_value_vnd",
    "field",
    "applied",
    "applied_on",
    "co_authors",
    "sources",
    "status",
)


def _stored(db: Engine) -> dict[str, Any]:
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    return {name: getattr(idea, name) for name in FIELDS}


def test_terminal_telegram_and_zalo_store_identical_initiatives(
    tmp_path: Path, db_url: str, db: Engine
) -> None:
    results: dict[str, dict[str, Any]] = {}

    # Terminal, through the real command.
    config = tmp_path / "c.toml"
    terminal_db = f"sqlite:///{tmp_path}/terminal.db"
    config.write_text(f'database_url = "{terminal_db}"\ndata_dir = "{tmp_path}"\n')
    script = tmp_path / "lan.txt"
    script.write_text("\n".join(line for line, _ in SCRIPT) + "\n", encoding="utf-8")
    done = subprocess.run(
        ["sangkien", "--config", str(config), "chat", "--script", str(script), "--user", "lan"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "Cảm ơn Lan" in done.stdout, done.stderr
    from storage.db import create_db_engine

    terminal_engine = create_db_engine(terminal_db)
    results["terminal"] = _stored(terminal_engine)
    terminal_engine.dispose()

    # Telegram (buttons pressed where the worker typed a number) and Zalo, on this backend.
    results["telegram"] = asyncio.run(_telegram(db_url))
    results["zalo"] = asyncio.run(_zalo(db_url))

    assert results["terminal"]["status"] == "submitted"
    assert results["telegram"] == results["terminal"]
    assert results["zalo"] == results["terminal"]
    assert db is not None


async def _telegram(db_url: str) -> dict[str, Any]:
    from storage.db import create_db_engine

    engine = create_db_engine(db_url)
    with closing(dispatcher_for(engine)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, _):
            user = TelegramUser(fake, 4242)
            for line, expect in SCRIPT:
                if line.isdigit():
                    user.press(int(line))
                else:
                    user.send(line)
                await user.wait_for(expect)
    stored = _stored(engine)
    _forget(engine)
    engine.dispose()
    return stored


async def _zalo(db_url: str) -> dict[str, Any]:
    from storage.db import create_db_engine

    engine = create_db_engine(db_url)
    with closing(dispatcher_for(engine)) as dispatcher:
        async with on_zalo(dispatcher) as (fake, _):
            user = ZaloUser(fake, "lan-zalo")
            for line, expect in SCRIPT:
                user.send(line)
                await user.wait_for(expect)
    stored = _stored(engine)
    _forget(engine)
    engine.dispose()
    return stored


def _forget(engine: Engine) -> None:
    """Remove the stored initiative so the next channel's is the only one."""
    from sqlalchemy import delete

    with Session(engine) as session:
        session.execute(delete(SimilarBand))  # the index of the one just sent
        session.execute(delete(SimilarEntry))
        session.execute(delete(Initiative))
        session.commit()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "both empty"),
        (
            {"SANGKIEN_TELEGRAM__TOKEN": "YOUR_TOKEN_HERE"},
            "telegram.token: looks like a placeholder",
        ),
        ({"SANGKIEN_ZALO__TOKEN": "abc"}, "zalo.token: expected the form"),
        (
            {
                "SANGKIEN_TELEGRAM__TOKEN": "123456:AAbbccddeeffgg",
                "SANGKIEN_TELEGRAM__MODE": "webhook",
            },
            "telegram.webhook_secret",
        ),
    ],
)
def test_run_refuses_to_start_with_bad_tokens(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")}
    env |= settings | {"SANGKIEN_DATABASE_URL": f"sqlite:///{tmp_path}/run.db"}
    result = subprocess.run(
        ["sangkien", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert message in result.stderr
