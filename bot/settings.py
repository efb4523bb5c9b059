"""One :class:`Settings` object, read from ``config.toml`` with environment overrides.

Built once in ``main()`` and passed down; tests build their own ``Settings(...)``.
Environment variables use the ``SANGKIEN_`` prefix and ``__`` for nesting:
``SANGKIEN_DATABASE_URL``, ``SANGKIEN_DIALOG__RESUME_AFTER_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import TOKEN_SHAPE
from dialogs.flow import DialogConfig

DEFAULT_CONFIG = Path("config.toml")


class SettingsError(ValueError):
    """Configuration that cannot be used; the message names the offending key."""


class DialogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resume_after_hours: float = Field(default=2.0, gt=0, le=24 * 90)
    max_answer_chars: int = Field(default=3000, ge=200, le=4000)

    def to_config(self, voice_max_seconds: float = 300, prompt_match: float = 0.7) -> DialogConfig:
        return DialogConfig(
            resume_after=dt.timedelta(hours=self.resume_after_hours),
            max_answer_chars=self.max_answer_chars,
            voice_max_seconds=voice_max_seconds,
            prompt_match=prompt_match,
        )


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: Literal["auto", "viet-asr", "vosk"] = "auto"
    vosk_model_path: Path | None = None
    max_seconds: float = Field(default=300, gt=0, le=3600)
    # Telegram's bots download at most 20 MB; five minutes of voice is about 1 MB.
    max_bytes: int = Field(default=20_000_000, gt=0, le=200_000_000)
    workers: int = Field(default=2, ge=1, le=32)
    long_note_seconds: float = Field(default=20, ge=0)
    keep_audio: bool = True
    normalize_level: bool = True
    trim_silence: bool = True
    level_pieces: bool = True
    lead_in_seconds: float = Field(default=0.5, ge=0, le=2)
    doubt_below: float = Field(default=0.6, ge=0, le=1)
    # An officer's recording of a prompt (/ghiam) is kept without asking when what the ear
    # heard in it is at least this close to the text (0 to 1, word for word, folded).
    prompt_match: float = Field(default=0.7, ge=0, le=1)
    model_list_url: str = "https://alphacephei.com/vosk/models/model-list.json"

    @field_validator("vosk_model_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


# Known placeholders: what documentation and templates put where a token goes. A real token
# is "<digits>:<35 random letters>" and may contain "xxx" or "token" by chance, so only whole
# placeholder values (and the Bot API documentation's example) are refused, never a substring.
_PLACEHOLDER = re.compile(
    r"(?i)(your|my|bot)?[ _-]*(telegram|zalo)?[ _-]*(bot)?[ _-]*(token|secret)[ _-]*(here)?"
    r"|change[ _-]?me|placeholder|example|x+|0+|1234567890?|secret|test|dummy"
)
_DOC_EXAMPLE_SECRETS = {"ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}
_ELLIPSIS = ("...", "…", "<", ">")


def looks_like_placeholder(token: str) -> bool:
    """Whether `token` is a placeholder left in place of a real one."""
    _, colon, secret = token.partition(":")
    if any(mark in token for mark in _ELLIPSIS):
        return True
    if not colon:
        return bool(_PLACEHOLDER.fullmatch(token))
    return secret in _DOC_EXAMPLE_SECRETS or bool(_PLACEHOLDER.fullmatch(secret))


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = ""
    api_base_url: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: str = ""
    webhook_url: str = ""
    poll_timeout: int = Field(default=30, ge=1, le=60)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def problems(self, section: str) -> list[str]:
        """What stops this channel from starting, each naming its key."""
        found: list[str] = []
        token = self.token.strip()
        if looks_like_placeholder(token):
            found.append(f"{section}.token: looks like a placeholder, not a real token")
        elif not TOKEN_SHAPE.fullmatch(token):
            found.append(f"{section}.token: expected the form <bot id>:<secret>")
        if self.mode == "webhook":
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", self.webhook_secret):
                found.append(
                    f"{section}.webhook_secret: 16 to 256 letters, digits, _ or - are required"
                )
            if not self.webhook_url.startswith("https://"):
                found.append(f"{section}.webhook_url: a public https:// URL is required")
        return found


class TelegramSettings(ChannelSettings):
    api_base_url: str = "https://api.telegram.org"
    # Telegram's flood limits (its FAQ): messages a second overall and in one private chat
    # (0: no limit per chat); groups get 20 a minute. Raised only to measure capacity.
    per_second: float = Field(default=30, gt=0, le=1000)
    chat_per_second: float = Field(default=1, ge=0, le=1000)
    # Connections to the Bot API for sends and button answers. Enough for 30 messages a second
    # and their acknowledgements at a 250 ms round trip; httpx checks every pooled connection
    # on each request, so more cost more than they bring (benchmarks/load.py).
    connections: int = Field(default=16, ge=1, le=256)
    # The bot's @username, for officers' invitation links (t.me/<username>?start=…).
    username: str = ""


class ZaloSettings(ChannelSettings):
    api_base_url: str = "https://bot-api.zaloplatforms.com"
    # Zalo publishes no flood limit: messages a second, overall, this bot sends at most.
    per_second: float = Field(default=30, gt=0, le=1000)
    # Hosts voice notes are fetched from ("https://*.zdn.vn"); nothing else is fetched.
    voice_hosts: list[str] = Field(
        default_factory=lambda: ["https://*.zdn.vn", "https://*.zadn.vn", "https://*.zalo.me"]
    )


ReviewLevel = Literal["grassroots", "district", "province", "national"]


def _grassroots_only() -> list[ReviewLevel]:
    return ["grassroots"]


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The levels an initiative is reviewed at, bottom up; the last level's decision is final.
    levels: list[ReviewLevel] = Field(default_factory=_grassroots_only, min_length=1)
    # Officers hear of new entries waiting for them at most this often (one message).
    notify_every_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # Invitation codes expire after this many days unless `--expires` says otherwise.
    invite_days: int = Field(default=7, ge=1, le=365)

    @field_validator("levels")
    @classmethod
    def _bottom_up(cls, levels: list[str]) -> list[str]:
        order = ["grassroots", "district", "province", "national"]
        if len(set(levels)) != len(levels) or levels != sorted(levels, key=order.index):
            raise ValueError("levels must be distinct and go bottom up, e.g. grassroots, district")
        return levels


def _public_url(value: str) -> str:
    """A server's public address, without a trailing slash (empty: none)."""
    if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError("a URL such as https://bot.congdoan.vn is required")
    return value.rstrip("/")


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # On SIGTERM: stop taking updates, then this many seconds to finish the turns under way
    # and send what the outbox can; whatever is left goes out at the next start.
    shutdown_grace_seconds: float = Field(default=10, ge=0, le=300)
    # The public https address of this server (behind its proxy), from which Zalo fetches
    # ranking pictures (/images/…). Empty: Zalo groups get the ranking as text only.
    public_base_url: str = ""

    @field_validator("public_base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return _public_url(value)


_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clock_time(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError("a time of day such as 16:00 is required")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]  # "16:00" or "16:00:30"


def time_of(value: str) -> dt.time:
    """ "16:00" or "16:00:30" as a time of day."""
    return dt.time.fromisoformat(value)


class RankingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # When each registered group gets its unit's ranking (local time, see jobs.timezone).
    day: Weekday = "fri"
    time: ClockTime = "16:00"
    # Units shown by name; a group's own unit is added below when it ranks lower.
    top: int = Field(default=10, ge=3, le=30)


class ReminderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Officers: one message a day at this time, only when something waits for them.
    officers_at: ClockTime = "08:00"
    # A draft untouched this many days is stalled: officers hear of it, its author is nudged.
    stalled_days: int = Field(default=3, ge=1, le=90)
    # Workers: at this time of day, at most once every `worker_every_days` days.
    workers_at: ClockTime = "10:00"
    worker_every_days: int = Field(default=3, ge=1, le=90)
    # Never nudge a worker between these times (local); a run in them sends nothing.
    quiet_from: ClockTime = "21:00"
    quiet_until: ClockTime = "07:00"


class JobSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Every schedule is read in this zone (the programme runs on Vietnamese time).
    timezone: str = "Asia/Ho_Chi_Minh"
    # Processed-update ids, sent or failed outbox rows and finished job runs older than this
    # many days are pruned every night at `prune_at`.
    keep_updates_days: int = Field(default=14, ge=1, le=365)
    prune_at: ClockTime = "03:00"
    # Several `sangkien run` on one PostgreSQL database: how often a standby tries to take
    # over as the one that runs jobs (the longest a dead leader's jobs wait).
    leader_check_seconds: float = Field(default=10, gt=0, le=600)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SimilarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # How alike two ideas must be (0 to 1: the lesser of their problems' and changes'
    # likeness) to be "very similar" (likely the same idea) and "related" (shown to
    # reviewers only). Measured by benchmarks/similar_eval.py.
    very: float = Field(default=0.73, ge=0, le=1)
    related: float = Field(default=0.6, ge=0, le=1)
    # Tell a worker, once an idea, before the summary, of a very similar idea of their
    # province (go on, join it, or later). Off: only reviewers see similar ideas.
    ask_workers: bool = True


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The public https address of this server (behind its proxy): links to recorded prompts
    # for Zalo, which sends no audio, and to ranking pictures, and the officers' web pages
    # (/web in the chat sends a sign-in link). Empty: Zalo gets text only, and no pages.
    public_url: str = ""
    # An officer signed in to the web pages stays signed in this many hours.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _public_url(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANGKIEN_", env_nested_delimiter="__", extra="forbid"
    )
    _toml_file: ClassVar[Path | None] = None

    database_url: str = "sqlite:///var/sangkien.db"
    data_dir: Path = Path("var")
    auto_upgrade: bool = True
    seed_demo: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    dialog: DialogSettings = Field(default_factory=DialogSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    rankings: RankingSettings = Field(default_factory=RankingSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    similar: SimilarSettings = Field(default_factory=SimilarSettings)

    @property
    def public_url(self) -> str:
        """Where this server is reachable from the internet, without a trailing slash; empty
        when it is not ([web] public_url, or the older [server] public_base_url)."""
        return (self.web.public_url or self.server.public_base_url).rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as error:
            raise ValueError(f"not a database URL: {error}") from None
        if backend not in {"sqlite", "postgresql"}:
            raise ValueError(f"backend {backend!r} is not supported; use sqlite or postgresql")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if cls._toml_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file),)
        return sources


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config` (or ``$SANGKIEN_CONFIG``, or ./config.toml when present), then
    the environment, then `overrides`. Raises :class:`SettingsError` naming the bad key."""
    explicit = config or (
        Path(os.environ["SANGKIEN_CONFIG"]) if "SANGKIEN_CONFIG" in os.environ else None
    )
    path = explicit or DEFAULT_CONFIG
    if explicit is not None and not path.is_file():
        raise SettingsError(f"config file not found: {path}")

    class FromFile(Settings):
        _toml_file = path if path.is_file() else None

    try:
        return FromFile(**overrides)
    except ValidationError as error:
        raise SettingsError(describe(error, path)) from None
    except ValueError as error:  # TOML syntax errors
        raise SettingsError(f"{path}: {error}") from None


def describe(error: ValidationError, path: Path) -> str:
    """One line per problem, each naming the key as written in config.toml and where the bad
    value came from: the environment variable that set it, or the file."""
    lines = ["invalid configuration:"]
    for problem in error.errors():
        parts = [str(part) for part in problem["loc"]]
        variable = "SANGKIEN_" + "__".join(parts).upper()
        source = f"environment {variable}" if variable in os.environ else str(path)
        shown = "(hidden)" if parts[-1] in _SECRET_KEYS else repr(problem.get("input"))
        lines.append(f"  {'.'.join(parts)}: {problem['msg']} (got {shown}, from {source})")
    return "\n".join(lines)


_SECRET_KEYS = {"token", "webhook_secret", "database_url"}
