"""The ``sangkien`` command as a newcomer uses it."""

from __future__ import annotations

import csv
import datetime as dt
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.settings import VoiceSettings
from storage.demo import DEMO_UNITS

SCRIPT = """\
# Lan's first idea, typed the way workers type
/start HN-DM01
Nguyễn Thị Lan
/press 1
May cat hay ket vai, moi ca phai dung may 30 phut
Gắn thêm thanh dẫn vải trước lưỡi cắt
/press 2
3tr5
1
/voice missing-recording.ogg
/press 1
khong
/press 1
"""


def _config(tmp_path: Path, database_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{database_url}"\ndata_dir = "{tmp_path}"\n')
    return config


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sangkien", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_help_is_in_vietnamese_and_english() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "hộp thư sáng kiến" in result.output and "initiative chatbot" in result.output
    assert "Trò chuyện với bot" in result.output and "Chat with the bot" in result.output


def test_units_list_tsv(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--config",
            str(_config(tmp_path, f"sqlite:///{tmp_path}/u.db")),
            "units",
            "list",
            "--format",
            "tsv",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(DEMO_UNITS)
    assert lines[0] == "VN\tnational\tTổng Liên đoàn Lao động Việt Nam\t"
    assert "HN-DM01\tgrassroots\tCĐCS Công ty CP May Đức Giang\tHN-LB" in lines
    assert all(len(line.split("\t")) == 4 for line in lines)


def test_a_scripted_chat_is_stored_and_exported(tmp_path: Path, db_url: str) -> None:
    config = str(_config(tmp_path, db_url))
    script = tmp_path / "lan.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    chat = run("--config", config, "chat", "--script", str(script), "--user", "lan")
    assert chat.returncode == 0, chat.stderr
    assert "👤 /press 1" in chat.stdout
    assert "⚠️ Không mở được tệp ghi âm missing-recording.ogg" in chat.stdout
    assert "🎉 Cảm ơn Lan!" in chat.stdout
    out = tmp_path / "ideas.csv"
    exported = run("--config", config, "export", "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "exported 1 initiatives" in exported.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    with out.open(encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["status"] == "submitted"
    assert row["unit_code"] == "HN-DM01"
    assert row["author_name"] == "Nguyễn Thị Lan"
    assert row["problem"] == "May cat hay ket vai, moi ca phai dung may 30 phut"
    assert row["benefit_value_vnd"] == "3500000"
    assert row["field"] == "production"
    assert row["co_authors"] == ""
    assert row["submitted_at"].endswith("+00:00")


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {marker!r} in {seen.decode(errors='replace')!r}")
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"exited before {marker!r}: {seen.decode()!r}")
            seen += chunk
    return seen.decode()


def test_killing_the_process_between_two_messages_resumes_the_same_draft(tmp_path: Path) -> None:
    config = str(_config(tmp_path, f"sqlite:///{tmp_path}/kill.db"))
    with subprocess.Popen(
        ["sangkien", "--config", config, "chat", "--user", "minh"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        assert process.stdin is not None
        try:
            _read_until(process, "/quit to leave")
            for line, marker in (
                ("xin chào", "Mã công đoàn nhà máy"),
                ("HN-CK02", "tên là gì"),
                ("Trần Văn Minh", "muốn làm gì"),
                ("1", "khó khăn hay lãng phí"),
                ("Phôi thép để xa máy tiện", "đã thay đổi gì"),
            ):
                process.stdin.write(line.encode() + b"\n")
                process.stdin.flush()
                _read_until(process, marker)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    script = tmp_path / "rest.txt"
    script.write_text("Đặt giá để phôi ngay cạnh máy\n", encoding="utf-8")
    again = run("--config", config, "chat", "--script", str(script), "--user", "minh")
    assert again.returncode == 0, again.stderr
    assert "được lợi gì nhất" in again.stdout
    exported = run("--config", config, "export", "--out", "-")
    assert "Phôi thép để xa máy tiện" in exported.stdout
    assert "Đặt giá để phôi ngay cạnh máy" in exported.stdout


def test_bad_configuration_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[dialog]\nmax_answer_chars = 0\n")
    result = run("--config", str(config), "units", "list")
    assert result.returncode == 2
    assert "dialog.max_answer_chars" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/fresh.db"\nauto_upgrade = false\n')
    assert run("--config", str(config), "units", "list").returncode == 2
    result = run("--config", str(config), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert run("--config", str(config), "units", "list").returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc")
def test_interactive_chat_quits_cleanly(tmp_path: Path) -> None:
    config = str(_config(tmp_path, f"sqlite:///{tmp_path}/q.db"))
    result = subprocess.run(
        ["sangkien", "--config", config, "chat"],
        input="xin chào\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Mã công đoàn nhà máy" in result.stdout


def test_the_stdout_export_has_the_bom_excel_needs(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/x.db"\ndata_dir = "{tmp_path}"\n')
    exported = subprocess.run(
        ["sangkien", "--config", str(config), "export", "--out", "-"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0 and exported.stdout.startswith("\ufeff".encode())


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SANGKIEN_DATABASE_URL": "postgresql+psycopg://bot:s3cret@127.0.0.1:1/x",
        "SANGKIEN_CONFIG": str(tmp_path / "none.toml"),
    }
    (tmp_path / "none.toml").write_text("")
    for args in (["units", "list"], ["db", "upgrade"]):
        done = subprocess.run(
            ["sangkien", *args], capture_output=True, text=True, timeout=60, env=env, check=False
        )
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot use the database" in lines[0], done.stderr
        assert "127.0.0.1:1/x" in lines[0] and "s3cret" not in lines[0]


def test_an_officer_reviews_in_the_terminal_and_exports_xlsx(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    config = str(_config(tmp_path, f"sqlite:///{tmp_path}/officer.db"))
    script = tmp_path / "lan.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    assert run("--config", config, "chat", "--script", str(script), "--user", "lan").returncode == 0
    invite = run("--config", config, "officers", "invite", "--unit", "hn-dm01", "--expires", "2d")
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.split()[1]
    officer = tmp_path / "hung.txt"
    officer.write_text(
        f"/canbo {code}\nTrần Văn Hùng\n/duyet\n/press 3\nKhông có số liệu đo\n", encoding="utf-8"
    )
    chat = run("--config", config, "chat", "--script", str(officer), "--user", "hung")
    assert chat.returncode == 0, chat.stderr
    assert "Sáng kiến này thế nào?" in chat.stdout and "1. ✅ Hợp lệ" in chat.stdout
    assert "❌ Đã ghi: không hợp lệ." in chat.stdout
    reused = run("--config", config, "chat", "--script", str(officer), "--user", "an")
    assert "Mã mời không đúng" in reused.stdout  # single use
    out = tmp_path / "report.xlsx"
    exported = run("--config", config, "export", "--format", "xlsx", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(load_workbook(out)["Sáng kiến"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and rows[0][1] == "Không hợp lệ"  # read by people: in Vietnamese
    assert run("--config", config, "officers", "list").stdout.count("HN-DM01") == 1
    added = run(
        "--config",
        config,
        "periods",
        "add",
        "2026-Q4",
        "--from",
        "2026-10-01",
        "--to",
        "2026-12-31",
    )
    assert added.returncode == 0, added.stderr
    listed = run("--config", config, "periods", "list").stdout
    assert "2026\t2026-01-01\t2026-12-31" in listed and "2026-Q4\t2026-10-01" in listed
    shown = run("--config", config, "units", "show", "HN-DM01", "--period", "2026").stdout
    assert "quota 2026: 40" in shown and "HN-LB" in shown


def test_an_officer_enters_an_idea_for_a_worker_who_confirms_it_in_her_own_terminal(
    tmp_path: Path,
) -> None:
    config = str(_config(tmp_path, f"sqlite:///{tmp_path}/assist.db"))
    lan = tmp_path / "lan.txt"
    lan.write_text("/start HN-DM01\nNguyễn Thị Lan\n", encoding="utf-8")
    assert run("--config", config, "chat", "--script", str(lan), "--user", "lan").returncode == 0
    code = run("--config", config, "officers", "invite", "--unit", "HN-DM01").stdout.split()[1]
    officer = tmp_path / "hung.txt"
    officer.write_text(
        f"/canbo {code}\nTrần Văn Hùng\nnhập hộ\nthi lan\n/press 1\n"
        "Máy cắt hay kẹt vải\nGắn thanh dẫn vải\nthời gian\n30 phút mỗi ca\n1\nchưa\n"
        "không\ngửi đi\n",
        encoding="utf-8",
    )
    entered = run("--config", config, "chat", "--script", str(officer), "--user", "hung")
    assert entered.returncode == 0, entered.stderr
    assert "Nhập hộ Nguyễn Thị Lan" in entered.stdout
    assert "Đã nhờ Lan xác nhận" in entered.stdout
    # Somebody else's terminal never shows Lan's question.
    other = tmp_path / "an.txt"
    other.write_text("/start HN-DM01\nLê Văn An\n", encoding="utf-8")
    seen = run("--config", config, "chat", "--script", str(other), "--user", "an")
    assert "Đúng là ý tưởng" not in seen.stdout

    answer = tmp_path / "yes.txt"
    answer.write_text("dạ đúng\n", encoding="utf-8")
    confirmed = run("--config", config, "chat", "--script", str(answer), "--user", "lan")
    assert confirmed.returncode == 0, confirmed.stderr
    asked, _, after = confirmed.stdout.partition("👤 dạ đúng")
    assert "Cán bộ Trần Văn Hùng đã ghi hộ" in asked and "1. ✅" in asked  # shown at start
    assert "đã vào hàng chờ duyệt" in after
    told = run("--config", config, "chat", "--script", str(answer), "--user", "hung")
    asked_hung, _, _ = told.stdout.partition("👤 dạ đúng")
    assert "Nguyễn Thị Lan xác nhận" in asked_hung  # the officer's notice, at his next start


def test_jobs_outbox_and_leaderboard_commands(tmp_path: Path) -> None:
    import datetime as dt

    from PIL import Image

    from bot.runtime import demo_database
    from tests.utils.programme import entries, group

    url = f"sqlite:///{tmp_path}/j.db"
    config = ["--config", str(_config(tmp_path, url))]
    engine = demo_database(url)
    friday = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)  # 16:00 in Hà Nội
    entries(engine, "HN-DT03", 9, at=friday - dt.timedelta(days=1))
    group(engine, "zalo", "grp-kcn", "HN-KCN", at=friday - dt.timedelta(days=30))
    engine.dispose()

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, [*config, *args])

    listed = cli("jobs", "list")
    assert listed.exit_code == 0, listed.output
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == [
        "rankings",
        "officer-reminders",
        "worker-reminders",
        "officer-notices",
        "prune",
    ]
    assert "never run" in listed.stdout

    ran = cli("jobs", "run", "rankings", "--now", "2026-12-04T16:05")
    assert ran.exit_code == 0, ran.output
    assert "rankings: week 2026-W49: 1 groups queued" in ran.stdout
    again = cli("jobs", "run", "rankings", "--now", "2026-12-04T17:00")
    assert "week 2026-W49: 0 groups queued" in again.stdout  # by hand, and nothing twice
    assert "last 2026-12-04 16:00 done" in cli("jobs", "list").stdout

    status = cli("outbox", "status")
    assert status.exit_code == 0
    assert status.stdout.split()[:4] == ["zalo", "broadcast", "pending", "1"]

    picture = tmp_path / "kcn.png"
    preview = cli(
        "leaderboard", "preview", "--unit", "hn-kcn", "--week", "2026-W49", "--out", str(picture)
    )
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.startswith("🏆 Xếp hạng sáng kiến tuần 49/2026")
    assert "1. CĐCS Công ty TNHH Điện tử Canon Việt Nam: 9 hợp lệ, 15% chỉ tiêu" in preview.stdout
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.width == 1080

    for args, said in [
        (("jobs", "run", "weekly"), "no job 'weekly'"),
        (("jobs", "run", "rankings", "--now", "thứ sáu"), "--now: not a date and time"),
        (("leaderboard", "preview", "--unit", "HN", "--week", "49"), "a week is written YYYY-Www"),
        (("leaderboard", "preview", "--unit", "XX-99"), "no unit 'XX-99'"),
    ]:
        refused = cli(*args)
        assert refused.exit_code == 2 and said in refused.output, refused.output


def test_db_prune_forgets_old_update_ids_and_sent_messages(tmp_path: Path) -> None:
    from storage.conversations import ConversationStore
    from storage.db import create_db_engine, upgrade
    from storage.outbox import OutboxStore, Queued

    url = f"sqlite:///{tmp_path}/p.db"
    engine = create_db_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        outbox = OutboxStore(connection)
        for age in (dt.timedelta(days=30), dt.timedelta(hours=1)):
            ConversationStore(connection).claim_update("zalo", str(age), now=now - age)
            row = outbox.add(Queued("zalo", "lan", {}), now=now - age, lease_until=None)
            outbox.mark_sent([row], now=now - age)
        outbox.add(Queued("zalo", "lan", {}), now=now - dt.timedelta(days=30), lease_until=None)
    engine.dispose()
    config = str(_config(tmp_path, url))
    done = CliRunner().invoke(app, ["--config", config, "db", "prune", "--days", "7"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == (
        "forgot 1 processed update ids and 1 sent messages older than 7 days"
    )
    status = CliRunner().invoke(app, ["--config", config, "outbox", "status"]).stdout
    assert [line.split()[2:4] for line in status.splitlines()[:2]] == [
        ["pending", "1"],
        ["sent", "1"],
    ]


def test_command_line_mistakes_get_one_line_on_stderr_and_a_failing_exit(tmp_path: Path) -> None:
    from bot.runtime import demo_database

    url = f"sqlite:///{tmp_path}/c.db"
    demo_database(url).dispose()
    config = ["--config", str(_config(tmp_path, url))]

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, [*config, *args])

    for args, says in [
        (["export", "--out", str(tmp_path / "missing" / "x.csv")], "missing"),
        (["export", "--out", str(tmp_path)], "is a folder"),
        (["export", "--format", "xlsx", "--out", str(tmp_path / "nowhere" / "x.xlsx")], "missing"),
        (["jobs", "run", "rankings", "--now", "garbage"], "not a date and time"),
        (["officers", "invite", "--unit", "HN-DM01", "--expires", "9999d"], "at most 365 days"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert "Traceback" not in result.output and says in result.stderr, (args, result.stderr)
        assert result.stdout == "", (args, result.stdout)


def test_a_voice_file_limit_past_reason_is_refused_naming_the_bound() -> None:
    with pytest.raises(ValidationError, match="200000000"):
        VoiceSettings(max_bytes=100_000_000_000)
