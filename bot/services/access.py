"""Who may open the officers' web pages: one-time links sent in the chat, and sessions.

An officer types ``/web`` in the chat; the desk writes a link row with the turn (so the link
and the message carrying it commit together) and the reply carries
``{public_url}/web/login/{token}``. Opening that link shows a button; only its POST signs in
(Telegram fetches links to draw previews, and a GET must never use one up). The session's
token lives in a cookie; the database keeps SHA-256 hashes of both tokens only.

Every page's form carries a CSRF token derived from the session token (an HMAC), which a
page from another site cannot read: the cookie is HttpOnly, and the token is written into
the page itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping

from bot.clock import Clock, system_clock
from bot.services.database import Database
from storage.conversations import ConversationStore
from storage.listing import Part
from storage.review import ReviewStore, Scope
from storage.web import WebStore

LINK_LIFETIME = dt.timedelta(minutes=15)
# An officer asks for at most this many links in LINK_LIFETIME: more is someone pressing
# /web in a loop, or someone else on the officer's phone.
LINKS_PER_LIFETIME = 5


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256. The tokens are 256 random bits: no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()


def new_link(connection: Connection, person_id: int, *, now: dt.datetime) -> str | None:
    """A new sign-in token for the person, written on the turn's connection; None when they
    asked for too many lately."""
    store = WebStore(connection)
    if store.logins_since(person_id, now - LINK_LIFETIME) >= LINKS_PER_LIFETIME:
        return None
    token = secrets.token_urlsafe(32)
    store.add_login(
        {
            "token_hash": digest(token),
            "person_id": person_id,
            "created_at": now,
            "expires_at": now + LINK_LIFETIME,
        }
    )
    return token


@dataclass(frozen=True, slots=True)
class Officer:
    """A signed-in officer, as one request sees them."""

    person_id: int
    name: str
    session_id: int
    csrf: str
    scopes: tuple[Scope, ...]

    @property
    def parts(self) -> list[Part]:
        return [(scope.level, scope.unit_id) for scope in self.scopes]


@dataclass(frozen=True, slots=True)
class SessionLine:
    id: int
    person_id: int
    name: str
    created_at: dt.datetime
    seen_at: dt.datetime
    expires_at: dt.datetime
    agent: str


class WebAccess:
    """Links and sessions over one database."""

    def __init__(
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        session_hours: float = 12.0,
        seen_every: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self._db = db
        self._clock = clock
        self.lifetime = dt.timedelta(hours=session_hours)
        self._seen_every = seen_every

    def link_usable(self, token: str) -> bool:
        with self._db.read() as connection:
            return WebStore(connection).login_usable(digest(token), now=self._clock())

    def sign_in(self, token: str, agent: str = "") -> str | None:
        """Use a link: a new session's token, or None when the link is unknown, used or
        expired. The officer must still serve a unit."""
        now = self._clock()
        session = secrets.token_urlsafe(32)
        with self._db.write() as connection:
            store = WebStore(connection)
            person_id = store.use_login(digest(token), now=now)
            if person_id is None or not ReviewStore(connection).scopes(person_id):
                return None
            store.add_session(
                {
                    "token_hash": digest(session),
                    "person_id": person_id,
                    "created_at": now,
                    "seen_at": now,
                    "expires_at": now + self.lifetime,
                    "agent": agent[:120],
                }
            )
        return session

    def officer(self, session: str) -> Officer | None:
        """The officer a session cookie belongs to, with the units they serve now (an
        officer removed from every unit is signed out)."""
        if not session or len(session) > 100:
            return None
        now = self._clock()
        with self._db.read() as connection:
            row = WebStore(connection).session(digest(session), now=now)
            if row is None:
                return None
            scopes = tuple(ReviewStore(connection).scopes(row["person_id"]))
            name = _name(connection, row)
        if not scopes:
            return None
        if now - row["seen_at"] >= self._seen_every:
            with self._db.write() as connection:
                WebStore(connection).seen(row["id"], now=now)
        return Officer(row["person_id"], name, row["id"], csrf_of(session), scopes)

    def sign_out(self, session: str) -> None:
        with self._db.write() as connection:
            store = WebStore(connection)
            row = store.session(digest(session), now=self._clock())
            if row is not None:
                store.revoke(row["id"])

    def sessions(self) -> list[SessionLine]:
        with self._db.read() as connection:
            rows = WebStore(connection).sessions(now=self._clock())
        return [
            SessionLine(
                r["id"],
                r["person_id"],
                r["name"] or "?",
                r["created_at"],
                r["seen_at"],
                r["expires_at"],
                r["agent"],
            )
            for r in rows
        ]

    def revoke(self, session_id: int) -> bool:
        with self._db.write() as connection:
            return WebStore(connection).revoke(session_id)

    def revoke_person(self, person_id: int) -> int:
        with self._db.write() as connection:
            return WebStore(connection).revoke_person(person_id)


def _name(connection: Connection, row: RowMapping) -> str:
    return ConversationStore(connection).person_name(row["person_id"]) or "?"
