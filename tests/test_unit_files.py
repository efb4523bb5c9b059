"""Unit files as Excel and people really write them: every encoding Excel saves a CSV in is
read, and every other bad file gets one line naming the file, the row and the reason."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.runtime import demo_database
from storage.models import Unit

HEADER = "code,name,level,parent_code,quota"
NEW_UNIT = "HN-DM09,CĐCS Công ty May Hưng Yên,grassroots,HN-LB,25"


@pytest.fixture
def cli(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path}/u.db"
    demo_database(url).dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{url}"\ndata_dir = "{tmp_path}"\n')
    return config, url


def units_import(cli: tuple[Path, str], file: Path) -> Result:
    return CliRunner().invoke(app, ["--config", str(cli[0]), "units", "import", str(file)])


def unit_count(url: str) -> int:
    engine = demo_database(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Unit)) or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("cp1258", b"")],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "cp1258"],
)
def test_csv_in_every_encoding_excel_saves_is_read(
    cli: tuple[Path, str], tmp_path: Path, encoding: str, bom: bytes
) -> None:
    """UTF-16 with BOM is Excel's "Unicode Text" (tab-separated); cp1258 is what Vietnamese
    Windows saves a plain CSV in (tone marks as combining characters)."""
    separator = "\t" if encoding.startswith("utf-16") else ","
    text = f"{HEADER}\n{NEW_UNIT}\n".replace(",", separator)
    file = tmp_path / "units.csv"
    file.write_bytes(bom + (cp1258(text) if encoding == "cp1258" else text.encode(encoding)))
    before = unit_count(cli[1])
    result = units_import(cli, file)
    assert result.exit_code == 0, result.output
    assert unit_count(cli[1]) == before + 1
    shown = CliRunner().invoke(app, ["--config", str(cli[0]), "units", "show", "HN-DM09"])
    assert "CĐCS Công ty May Hưng Yên" in shown.stdout  # NFC, as typed


TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """`text` as Vietnamese Windows writes it: letters with their hat or horn precomposed
    where the code page has them, tone marks as combining characters after them."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out += (base + "".join(c for c in parts if c in TONES)).encode("cp1258")
    return out


def _xlsx(path: Path, *rows: list[object]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("binary.csv", bytes(range(256)) * 8, "không phải file chữ"),
        ("one-column.csv", b"code\nHN-DM09\n", "dòng tiêu đề"),
        ("huge.csv", (HEADER + "\nHN-DM09," + "x" * 200_000 + ",grassroots,HN-LB,1\n").encode(),
         "dòng 2"),
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100), "không phải file Excel"),
        ("superscript.csv", f"{HEADER}\nHN-DM09,Tên,grassroots,HN-LB,²\n".encode(), "chỉ tiêu"),
        ("nul.csv", f"{HEADER}\nHN-DM09,Tên\x00ẩn,grassroots,HN-LB,1\n".encode(), "tên"),
    ],
    ids=["binary", "one-column", "huge-field", "png-as-xlsx", "superscript-quota", "nul-in-name"],
)  # fmt: skip
def test_a_bad_file_is_one_clear_line_and_changes_nothing(
    cli: tuple[Path, str], tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    before = unit_count(cli[1])
    result = units_import(cli, file)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert says in result.stderr and str(file) in result.stderr, result.stderr
    assert unit_count(cli[1]) == before


def test_a_quota_past_the_cap_names_the_cap(cli: tuple[Path, str], tmp_path: Path) -> None:
    file = _xlsx(tmp_path / "units.xlsx", ["HN-DM09", "Tên", "grassroots", "HN-LB", 1e9])
    result = units_import(cli, file)
    assert result.exit_code == 1
    assert "10.000.000" in result.stderr and ":2:" in result.stderr, result.stderr
