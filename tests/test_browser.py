"""The officers' web pages in a real browser: Debian's chromium, driven by selenium through
chromedriver, against the pages served on 127.0.0.1.

An officer asks for the link in the chat, signs in with its button, decides two entries at
once, opens one, looks at the rankings, imports a unit tree with its preview, downloads the
XLSX and reads it back. Every page's screenshot is saved under tests/screenshots/ (ignored by
git) for a person to look at, at a desk's width and a phone's.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from dialogs import messages as msg
from storage.db import create_db_engine
from storage.models import Initiative
from tests.utils import programme
from tests.utils.chat import FakeClock
from tests.utils.web import Site, submitted

SHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_installed() -> bool:
    return Path(CHROMIUM).is_file() and Path(DRIVER).is_file()


if not _browser_installed():
    if os.environ.get("CI") == "true":  # .ci/run installs it: missing there is a failure
        raise RuntimeError("chromium and chromedriver are not installed")
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "sangkien.db"
    shutil.copy(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=vi",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.implicitly_wait(0)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(
    check: Callable[[], object], seconds: float = 15.0, what: Callable[[], object] = str
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the page did not get there in time: {what()}")
        time.sleep(0.1)


def go(driver: WebDriver, url: str | None = None) -> None:
    """Open ``url`` (or reload), and return once the new page is there.

    Under load chromedriver's ``get`` sometimes returns while the old document is still shown
    (the next lookup then missed an element the new page has, in CI): wait for the old one to
    go and the new one to be loaded.
    """
    old = driver.find_element(By.TAG_NAME, "html")
    if url is None:
        driver.refresh()
    else:
        driver.get(url)
    gone = staleness_of(old)
    wait_for(
        lambda: gone(driver) and driver.execute_script("return document.readyState") == "complete",
        what=lambda: driver.current_url,
    )


def shot(driver: WebDriver, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000  # a page, not a blank
    return path


def text_of(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def _submit(site: Site, problem: str, change: str) -> int:
    """Lan's idea, told in the chat one answer at a time; its id."""
    for line in ("1", problem, change, "tiết kiệm tiền", "5 triệu một năm", "1", "2", "không"):
        said = site.say("lan", line)
    if "rất giống" in said:
        site.say("lan", "ý của tôi khác")
    assert "Đã gửi sáng kiến" in site.say("lan", "1")
    with site.db.connect() as connection:
        return int(connection.scalar(select(func.max(Initiative.id))) or 0)


def test_an_officer_signs_in_from_the_chat_and_works_through_the_pages(
    sqlite_db: Engine, browser: WebDriver, tmp_path: Path
) -> None:
    clock = FakeClock()
    with Site(sqlite_db, tmp_path, clock) as site:
        site.officer("hung", "Trần Văn Hùng", "HN-LB")
        # Lan sends two ideas in the chat, as workers do; a third waits too.
        for line in ("xin chào", "HN-DM01", "Nguyễn Thị Lan"):
            site.say("lan", line)
        first = _submit(site, "Máy cắt hay kẹt vải, mỗi ca dừng 30 phút", "Gắn thanh dẫn vải")
        second = _submit(site, "Đèn bàn kiểm hàng quá tối, dễ sót lỗi", "Thay bóng đèn LED")
        [third] = submitted(sqlite_db, "HN-DM01", 1, at=clock(), title="Kệ để khuôn", value=1)
        programme.entries(sqlite_db, "HN-DM01", 4, at=programme.friday(13))
        clock.now = programme.friday(20) + dt.timedelta(hours=2)

        # The link from the chat: a page with one button; the button signs in.
        go(browser, site.link("hung"))
        assert msg.WEB_LOGIN_HINT in text_of(browser)
        shot(browser, "01-sign-in")
        browser.find_element(By.ID, "sign-in").click()
        wait_for(
            lambda: browser.current_url == f"{site.url}/web/",
            what=lambda: (browser.current_url, text_of(browser)),
        )
        assert "Trần Văn Hùng" in text_of(browser)
        shot(browser, "02-queue")

        # Two entries at once: ticked, decided, the queue redrawn by htmx.
        for entry in (first, second):
            browser.find_element(By.CSS_SELECTOR, f'input[value="{entry}:grassroots"]').click()
        browser.find_element(By.CSS_SELECTOR, 'button[value="valid"]').click()
        wait_for(lambda: msg.WEB_DECIDED.format(count=2) in text_of(browser))
        assert browser.current_url.startswith(f"{site.url}/web/")
        shot(browser, "03-two-decided")
        boxes = browser.find_elements(By.CSS_SELECTOR, 'input[name="entry"]')
        assert [b.get_attribute("value") for b in boxes] == [f"{third}:grassroots"]

        # One entry, whole.
        go(browser, f"{site.url}/web/entry/{first}")
        page = text_of(browser)
        assert "Gắn thanh dẫn vải" in page and "Trần Văn Hùng" in page
        assert "5.000.000 đ" in page and "Máy cắt hay kẹt vải" in page
        shot(browser, "04-entry")
        # The third returned from its own page, with the reason its author will read.
        go(browser, f"{site.url}/web/entry/{third}")
        browser.find_element(By.NAME, "reason").send_keys("Ghi rõ số phút tiết kiệm")
        browser.find_element(By.CSS_SELECTOR, 'button[value="returned"]').click()
        wait_for(lambda: msg.WEB_DECIDED.format(count=1) in text_of(browser))
        assert browser.current_url == f"{site.url}/web/entry/{third}"  # redrawn in place
        assert "Ghi rõ số phút tiết kiệm" in text_of(browser)

        # The rankings: the picture loads (a real PNG, drawn) and the table is there.
        go(browser, f"{site.url}/web/rankings")
        image = browser.find_element(By.CSS_SELECTOR, "img.ranking")
        wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", image) > 0)
        assert "HN-DM01" in text_of(browser)
        shot(browser, "05-rankings")

        # A unit tree: previewed, then imported, with its progress.
        tree = tmp_path / "don-vi.csv"
        tree.write_text(
            "code,name,level,parent_code,quota\n"
            "HN-XD09,CĐCS Xây dựng 09,grassroots,HN-LB,12\n"
            "HN-XD10,CĐCS Xây dựng 10,grassroots,HN-LB,8\n",
            encoding="utf-8",
        )
        go(browser, f"{site.url}/web/units")
        browser.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(tree))
        browser.find_element(By.CSS_SELECTOR, ".import button").click()
        wait_for(lambda: browser.find_elements(By.ID, "apply-import"))
        assert msg.WEB_IMPORT_NEW.format(count=2) in text_of(browser)
        shot(browser, "06-import-preview")
        browser.find_element(By.ID, "apply-import").click()
        wait_for(lambda: browser.find_elements(By.ID, "import-done"))
        assert msg.WEB_IMPORT_DONE.format(created=2, updated=0, quotas=2) in text_of(browser)
        go(browser)
        assert "CĐCS Xây dựng 09" in text_of(browser)
        shot(browser, "07-units")

        # The XLSX, downloaded by the browser and read back.
        go(browser, f"{site.url}/web/export")
        shot(browser, "08-export")
        browser.find_element(By.ID, "xlsx").click()
        folder: Path = browser.downloads  # type: ignore[attr-defined]
        # Chromium names the file before it has written all of it (read then, under load:
        # "File is not a zip file"): wait for a whole workbook.
        wait_for(lambda: [f for f in folder.glob("*.xlsx") if zipfile.is_zipfile(f)])
        [workbook] = folder.glob("*.xlsx")
        rows = list(load_workbook(workbook)["Sáng kiến"].iter_rows(values_only=True))
        assert rows[0][:2] == ("Số", "Trạng thái")
        statuses = sorted(str(row[1]) for row in rows[1:])
        assert statuses.count("Hợp lệ") == 2 + 4 and statuses.count("Trả lại") == 1
        money = [row[14] for row in rows[1:] if row[14]]
        assert 5_000_000 in money

        go(browser, f"{site.url}/web/officers")
        browser.find_element(By.ID, "invite-unit").send_keys("HN-DM01")
        browser.find_element(By.ID, "invite").click()
        wait_for(lambda: "/canbo " in text_of(browser))
        shot(browser, "09-officers")
        go(browser, f"{site.url}/web/jobs")
        shot(browser, "10-jobs")

        # On a phone.
        browser.set_window_size(390, 844)
        go(browser, f"{site.url}/web/")
        shot(browser, "11-queue-phone")
        go(browser, f"{site.url}/web/entry/{first}")
        shot(browser, "12-entry-phone")
