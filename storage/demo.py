"""A small, realistic unit tree for the embedded default, demos and tests."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from storage.models import Period, UnitCreate, UnitLevel
from storage.units import count_units, create_units

N, P, D, G = UnitLevel.NATIONAL, UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.GRASSROOTS

DEMO_UNITS: tuple[UnitCreate, ...] = (
    UnitCreate(code="VN", level=N, name="Tổng Liên đoàn Lao động Việt Nam"),
    UnitCreate(code="HN", level=P, parent_code="VN", name="Liên đoàn Lao động TP Hà Nội"),
    UnitCreate(code="BN", level=P, parent_code="VN", name="Liên đoàn Lao động tỉnh Bắc Ninh"),
    UnitCreate(code="DM", level=P, parent_code="VN", name="Công đoàn Dệt May Việt Nam"),
    UnitCreate(code="HN-LB", level=D, parent_code="HN", name="LĐLĐ quận Long Biên"),
    UnitCreate(
        code="HN-KCN",
        level=D,
        parent_code="HN",
        name="Công đoàn các Khu công nghiệp – chế xuất Hà Nội",
    ),
    UnitCreate(code="BN-YP", level=D, parent_code="BN", name="Công đoàn các KCN Bắc Ninh"),
    UnitCreate(
        code="DM-TCT", level=D, parent_code="DM", name="Công đoàn Tổng công ty Dệt May Hà Nội"
    ),
    UnitCreate(
        code="HN-DM01",
        level=G,
        parent_code="HN-LB",
        quotas={"2026": 40},
        name="CĐCS Công ty CP May Đức Giang",
    ),
    UnitCreate(
        code="HN-CK02",
        level=G,
        parent_code="HN-KCN",
        quotas={"2026": 25},
        name="CĐCS Công ty TNHH Cơ khí Thăng Long",
    ),
    UnitCreate(
        code="HN-DT03",
        level=G,
        parent_code="HN-KCN",
        quotas={"2026": 60},
        name="CĐCS Công ty TNHH Điện tử Canon Việt Nam",
    ),
    UnitCreate(
        code="BN-DT01",
        level=G,
        parent_code="BN-YP",
        quotas={"2026": 80},
        name="CĐCS Công ty TNHH Điện tử Yên Phong",
    ),
    UnitCreate(
        code="BN-GO02",
        level=G,
        parent_code="BN-YP",
        quotas={"2026": 15},
        name="CĐCS Công ty CP Gốm Đông Lâm",
    ),
    UnitCreate(
        code="DM-SO01",
        level=G,
        parent_code="DM-TCT",
        quotas={"2026": 30},
        name="CĐCS Nhà máy Sợi Hà Nội",
    ),
)


def seed_demo(*, now: dt.datetime, session: Session) -> bool:
    """Load the demo tree into an empty database. Returns False when units already exist."""
    if count_units(session=session):
        return False
    session.add(Period(name="2026", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31)))
    create_units(DEMO_UNITS, now=now, session=session)
    return True
