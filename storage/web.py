"""The officers' web pages: one-time sign-in links and signed-in sessions.

Only hashes of the random tokens are stored. A link is used by one UPDATE that sets
``used_at`` where it is still unset and unexpired, so two presses of the button (or two
browsers) sign in once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from storage.models import Person, WebLogin, WebSession

_login = WebLogin.__table__  # type: ignore[attr-defined]
_session = WebSession.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]


class WebStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_login(self, values: dict[str, Any]) -> None:
        self.connection.execute(insert(_login).values(**values))

    def logins_since(self, person_id: int, since: dt.datetime) -> int:
        query = select(func.count()).where(
            _login.c.person_id == person_id, _login.c.created_at > since
        )
        return int(self.connection.execute(query).scalar_one())

    def use_login(self, token_hash: str, *, now: dt.datetime) -> int | None:
        """The person a link signs in, marking it used; None when unknown, used or expired."""
        found = self.connection.execute(
            update(_login)
            .where(
                _login.c.token_hash == token_hash,
                _login.c.used_at.is_(None),
                _login.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(_login.c.person_id)
        ).scalar()
        return None if found is None else int(found)

    def login_usable(self, token_hash: str, *, now: dt.datetime) -> bool:
        query = select(_login.c.person_id).where(
            _login.c.token_hash == token_hash,
            _login.c.used_at.is_(None),
            _login.c.expires_at > now,
        )
        return self.connection.execute(query).first() is not None

    def add_session(self, values: dict[str, Any]) -> int:
        return int(
            self.connection.execute(
                insert(_session).values(**values).returning(_session.c.id)
            ).scalar_one()
        )

    def session(self, token_hash: str, *, now: dt.datetime) -> RowMapping | None:
        query = select(_session).where(
            _session.c.token_hash == token_hash, _session.c.expires_at > now
        )
        return self.connection.execute(query).mappings().first()

    def seen(self, session_id: int, *, now: dt.datetime) -> None:
        self.connection.execute(
            update(_session).where(_session.c.id == session_id).values(seen_at=now)
        )

    def sessions(self, *, now: dt.datetime) -> Sequence[RowMapping]:
        """Live sessions, the latest seen first, with the officer's name."""
        query = (
            select(
                _session.c.id,
                _session.c.person_id,
                _person.c.name,
                _session.c.created_at,
                _session.c.seen_at,
                _session.c.expires_at,
                _session.c.agent,
            )
            .join(_person, _person.c.id == _session.c.person_id)
            .where(_session.c.expires_at > now)
            .order_by(_session.c.seen_at.desc(), _session.c.id.desc())
        )
        return self.connection.execute(query).mappings().all()

    def revoke(self, session_id: int) -> bool:
        done = self.connection.execute(delete(_session).where(_session.c.id == session_id))
        return bool(done.rowcount)

    def revoke_person(self, person_id: int) -> int:
        done = self.connection.execute(delete(_session).where(_session.c.person_id == person_id))
        return int(done.rowcount)

    def forget_expired(self, *, now: dt.datetime) -> int:
        gone = self.connection.execute(delete(_session).where(_session.c.expires_at <= now))
        self.connection.execute(delete(_login).where(_login.c.expires_at <= now))
        return int(gone.rowcount)
