"""The officers' web pages served for real: the services of `sangkien run` over a test
database, the Starlette app on 127.0.0.1 in a thread, and officers who ask for their link in
the chat (``/web``) as they would."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, update

from bot.channels.base import Turn
from bot.channels.webhooks import create_app
from bot.runtime import Services
from bot.services.review import ReviewService
from bot.settings import Settings, WebSettings
from bot.web.app import COOKIE, OfficerPages
from dialogs.events import parse_text
from storage.models import Initiative, OutboxMessage
from tests.fakes.base import ThreadedServer, free_port
from tests.utils import programme
from tests.utils.chat import FakeClock, read

LINK = re.compile(r"https?://\S+/web/login/[A-Za-z0-9_-]+")


class Site:
    """Services and the web pages over one database, served on 127.0.0.1."""

    def __init__(self, db: Engine, data_dir: Path, clock: FakeClock, **settings: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chosen = Settings(
            database_url=str(db.url),
            data_dir=data_dir,
            web=WebSettings(public_url=self.url),
            **settings,  # type: ignore[arg-type]
        )
        self.db = db
        self.clock = clock
        self.services = Services(chosen, db, clock=clock)
        self.pages = OfficerPages(
            access=self.services.access,
            portal=self.services.portal,
            units=self.services.units,
            reports=self.services.reports,
            public_url=self.url,
            uploads=data_dir / "uploads",
            clock=clock,
        )
        self.server = ThreadedServer(create_app(routes=self.pages.routes()), port=self.port)
        self.count = 0

    def __enter__(self) -> Site:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.services.close()

    def say(self, user: str, text: str, channel: str = "test") -> str:
        """What `user` is told in the chat after saying `text`."""
        self.count += 1
        self.clock.advance(seconds=2)
        deliveries = self.services.conversations.handle(
            Turn(channel, user, user), parse_text(text), f"w{self.count}", now=self.clock()
        )
        return "\n".join(r.text for r in read(self.services.db, deliveries))

    def officer(self, user: str, name: str, unit: str) -> None:
        review = ReviewService(self.services.db, self.services.portal.levels, self.clock)
        code = review.invite(unit, expires=dt.timedelta(days=7)).code
        assert "cán bộ công đoàn của" in self.say(user, f"/canbo {code}")
        self.say(user, name)

    def link(self, user: str) -> str:
        """The sign-in link `user` gets by typing /web."""
        said = self.say(user, "/web")
        found = LINK.search(said)
        assert found is not None, said
        return found.group(0)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)

    def signed_in(self, user: str) -> httpx.Client:
        """A client with `user`'s session cookie (sent by hand: httpx keeps no Secure cookie
        for plain http, which a browser does for 127.0.0.1)."""
        link = self.link(user)
        with self.client() as signing:
            answer = signing.post(link)
        assert answer.status_code == 303, answer.text
        client = self.client()
        client.headers["Cookie"] = f"{COOKIE}={_cookie(answer)}"
        return client


def _cookie(answer: httpx.Response) -> str:
    header = answer.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def outbox_texts(db: Engine, chat: str) -> list[str]:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with db.connect() as connection:
        payloads = connection.scalars(
            select(table.c.payload).where(table.c.chat_id == chat).order_by(table.c.id)
        ).all()
    return [reply["text"] for payload in payloads for reply in payload["replies"]]


def submitted(
    db: Engine,
    code: str,
    count: int,
    *,
    at: dt.datetime,
    title: str = "Cải tiến",
    author: int | None = None,
    value: int | None = None,
) -> list[int]:
    """`count` entries of the grassroots union `code` waiting at its review, with their
    district and province filled in as a submission does; their ids."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    with db.connect() as connection:
        before = connection.scalar(select(func.max(table.c.id))) or 0
    programme.entries(db, code, count, at=at, status="submitted", author=author, title=title)
    with db.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id > before)
            .values(review_level="grassroots", benefit_value_vnd=value)
        )
        return list(connection.scalars(select(table.c.id).where(table.c.id > before)))
