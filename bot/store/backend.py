"""The store's interface: what the services need from a database, whatever the engine.

`Store` implements it over SQLite (the default) or PostgreSQL (DATABASE_URL), with the
same guarantees in both: a write returns only after COMMIT, `forget_member`
deletes every row about a member in one transaction, and concurrent writers never lose or
duplicate a rating. The services are typed against these protocols only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from bot.store.schema import (
    ClubMovie,
    FitRecord,
    HistoryBatch,
    HistoryWritten,
    ListEntry,
    Night,
    OnboardingSession,
    Poll,
    PublishedModel,
    Rating,
    RatingArrays,
    RatingChange,
    ServerListEntry,
    WatchedNight,
)
from bot.store.writer import Batchable, Dialect, WriteOp

Order = Literal["recent", "oldest", "stars", "movie"]


class Database(Protocol):
    """What repositories write and read through: group-committed writes, committed reads."""

    dialect: Dialect

    async def submit(
        self, op: WriteOp, batch: Batchable | None = None, *, alone: bool = False
    ) -> Any: ...

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...


class RatingStore(Protocol):
    """Members' ratings and the change sequence (every rating row created, changed, deleted)."""

    async def rate(
        self, user_id: int, movie_id: int, stars: float, source: str = "slash"
    ) -> RatingChange: ...

    async def rate_many(
        self, rows: Iterable[tuple[int, int, float]], source: str = "import"
    ) -> int: ...

    async def unrate(self, user_id: int, movie_id: int) -> bool: ...

    async def get_rating(self, user_id: int, movie_id: int) -> float | None: ...

    async def user_ratings(
        self, user_id: int, *, limit: int | None = None, offset: int = 0, order: Order = "recent"
    ) -> list[Rating]: ...

    async def movie_ratings(self, movie_id: int) -> tuple[list[int], list[float]]: ...

    async def count_user_ratings(self, user_id: int) -> int: ...

    async def all_ratings(self) -> RatingArrays: ...

    async def change_seq(self) -> int: ...

    async def stats(self) -> dict[str, int]: ...


class SkipStore(Protocol):
    """Movies members said they have not seen."""

    async def skip(self, user_id: int, movie_id: int) -> None: ...

    async def skipped(self, user_id: int) -> set[int]: ...


class SessionStore(Protocol):
    """One card-session document per member."""

    async def save_session(
        self, user_id: int, data: dict[str, Any], message_id: int | None = None
    ) -> None: ...

    async def load_session(self, user_id: int) -> OnboardingSession | None: ...

    async def end_session(self, user_id: int) -> bool: ...


class PollStore(Protocol):
    """Movie-night polls: ordered options with their predicted group enjoyment, a group who
    may vote unless open, and ballots of one or more movies (ranked or not)."""

    async def create_poll(
        self,
        guild_id: int,
        channel_id: int,
        creator_id: int,
        movie_ids: Sequence[int],
        strategy: str,
        *,
        kind: str = "approval",
        open: bool = True,
        ends_at: float | None = None,
        members: Iterable[int] = (),
        scores: Mapping[int, float] | None = None,
    ) -> int: ...

    async def set_poll_message(self, poll_id: int, message_id: int) -> None: ...

    async def toggle(self, poll_id: int, user_id: int, movie_id: int) -> tuple[int, ...]: ...

    async def ballots(self, poll_id: int) -> dict[int, tuple[int, ...]]: ...

    async def tally(self, poll_id: int) -> dict[int, int]: ...

    async def last_shortlist(self, guild_id: int, members: Iterable[int]) -> tuple[int, ...]: ...

    async def get_poll(self, poll_id: int) -> Poll | None: ...

    async def open_polls(self) -> list[Poll]: ...

    async def polls_ending(self, before: float) -> list[Poll]: ...

    async def next_poll_end(self) -> float | None: ...

    async def close_poll(self, poll_id: int, winner_id: int | None = None) -> Poll: ...


class NightStore(Protocol):
    """Movie nights scheduled as Discord events: timeline, attendees, after-movie answers."""

    async def add_night(
        self,
        guild_id: int,
        channel_id: int,
        poll_id: int | None,
        movie_id: int,
        creator_id: int,
        event_id: int,
        place: str,
        starts_at: float,
        ends_at: float,
    ) -> Night: ...

    async def get_night(self, night_id: int) -> Night | None: ...

    async def night_for_poll(self, poll_id: int) -> Night | None: ...

    async def night_for_event(self, event_id: int) -> Night | None: ...

    async def unfinished_nights(self) -> list[Night]: ...

    async def move_night(self, night_id: int, status: str) -> bool: ...

    async def retime_night(self, night_id: int, starts_at: float, ends_at: float) -> bool: ...

    async def mark_night(self, night_id: int, step: str) -> bool: ...

    async def set_attendees(self, night_id: int, user_ids: Iterable[int]) -> None: ...

    async def attendees(self, night_id: int) -> dict[int, float | None]: ...

    async def record_answer(self, night_id: int, user_id: int, stars: float) -> float | None: ...

    async def history(self, guild_id: int, limit: int = 50) -> list[WatchedNight]: ...

    async def upcoming_nights(self, guild_id: int) -> list[Night]: ...

    async def watched_movies(
        self, guild_id: int, members: Iterable[int] | None = None
    ) -> set[int]: ...


class FitLogStore(Protocol):
    """Model fits, each remembering the change sequence its data was taken at."""

    async def fit_started(self, ratings_used: int) -> int: ...

    async def fit_finished(
        self,
        fit_id: int,
        rmse: float | None,
        duration_s: float,
        status: Literal["ok", "failed"],
        error: str | None = None,
    ) -> None: ...

    async def last_fit(self, status: str | None = None) -> FitRecord | None: ...

    async def changes_since_fit(self) -> int: ...


class ClubMovieStore(Protocol):
    """Movies a club added; removing or merging one moves or deletes its ratings too."""

    async def add(self, title: str, genres: tuple[str, ...], added_by: int) -> ClubMovie: ...

    async def all(self) -> list[ClubMovie]: ...

    async def added_since(self, member: int, since: float) -> int: ...

    async def rename(self, movie_id: int, title: str) -> bool: ...

    async def merge(self, movie_id: int, into: int) -> int: ...

    async def remove(self, movie_id: int) -> int: ...


class MemberListStore(Protocol):
    """Members' watchlists, "seen" marks and "not interested" marks."""

    async def add(
        self,
        user_id: int,
        name: str,
        movie_id: int,
        source: str = "button",
        replacing: Sequence[str] = (),
    ) -> bool: ...

    async def remove(self, user_id: int, name: str, movie_id: int) -> bool: ...

    async def entries(
        self, user_id: int, name: str, *, limit: int | None = None, offset: int = 0
    ) -> list[ListEntry]: ...

    async def movies(self, user_id: int, name: str) -> set[int]: ...

    async def lists_with(self, user_id: int, movie_id: int) -> set[str]: ...

    async def counts(self, user_id: int) -> dict[str, int]: ...

    async def of_members(self, user_ids: Iterable[int], name: str) -> dict[int, int]: ...


class ServerListStore(Protocol):
    """Each server's shared list of movies to watch."""

    async def add(self, guild_id: int, movie_id: int, added_by: int) -> bool: ...

    async def remove(self, guild_id: int, movie_id: int) -> bool: ...

    async def entries(self, guild_id: int) -> list[ServerListEntry]: ...


class MemberSettingsStore(Protocol):
    """Members' privacy choices."""

    async def set_taste_match(self, user_id: int, enabled: bool) -> None: ...

    async def taste_match_off(self, user_ids: Iterable[int] | None = None) -> set[int]: ...


class HistoryStore(Protocol):
    """Imported history, applied in one transaction."""

    async def apply(self, batch: HistoryBatch) -> HistoryWritten: ...


class SharedModelStore(Protocol):
    """What several processes on one database share: snapshot versions, member changes."""

    async def publish(self, dataset: str, file: str) -> int: ...

    async def latest(self, dataset: str) -> PublishedModel | None: ...

    async def member_seq(self, user_id: int) -> int: ...

    async def member_seqs(self) -> dict[int, int]: ...


class StoreBackend(Protocol):
    """A whole database: one repository per record kind, plus what spans them."""

    ratings: RatingStore
    skips: SkipStore
    sessions: SessionStore
    polls: PollStore
    nights: NightStore
    fits: FitLogStore
    club_movies: ClubMovieStore
    lists: MemberListStore
    server_lists: ServerListStore
    member_settings: MemberSettingsStore
    history: HistoryStore
    shared: SharedModelStore

    async def bind_dataset(self, dataset: str) -> str: ...

    async def forget_member(self, user_id: int) -> int: ...

    async def scrub(self) -> None: ...

    async def close(self) -> None: ...
