"""All services built in one place over one store: what the Discord layer is given."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.card_sessions import CardSessions
from bot.core.club_movies import ClubMovies
from bot.core.history import HistoryImports
from bot.core.member_lists import MemberLists
from bot.core.model_server import FitRunner, ModelServer
from bot.core.movie_nights import MovieNights
from bot.core.movie_pages import MoviePages
from bot.core.night_events import NightEvents
from bot.core.queries import Queries
from bot.core.ratings import RatingsService
from bot.core.taste import TasteMatches
from bot.settings import Settings
from bot.store.backend import StoreBackend


@dataclass(frozen=True)
class Services:
    """The bot's services; `build` wires them, `start`/`close` run the model server."""

    models: ModelServer
    ratings: RatingsService
    queries: Queries
    cards: CardSessions
    nights: MovieNights
    events: NightEvents
    pages: MoviePages
    clubs: ClubMovies
    history: HistoryImports
    lists: MemberLists
    taste: TasteMatches

    @classmethod
    def build(
        cls, settings: Settings, store: StoreBackend, runner: FitRunner | None = None
    ) -> Services:
        """Every service over the same store and model server."""
        models = ModelServer(settings, store, runner)
        pages = MoviePages(settings, models)
        ratings = RatingsService(store, models)
        clubs = ClubMovies(store, models, pages)
        return cls(
            models=models,
            ratings=ratings,
            queries=Queries(store, models),
            cards=CardSessions(store),
            nights=MovieNights(store, settings.clock),
            events=NightEvents(
                store,
                ratings,
                settings.clock,
                settings.night_reminder_lead,
                settings.night_runtime,
            ),
            pages=pages,
            clubs=clubs,
            history=HistoryImports(store, models, ratings, clubs),
            lists=MemberLists(store, models),
            taste=TasteMatches(store, models),
        )

    async def start(self, periodic: bool = True) -> None:
        """Load the data and a model, then refit periodically (when `periodic`)."""
        await self.pages.open()
        await self.models.start(periodic)

    async def close(self) -> None:
        """Stop background refits and close the TMDB client."""
        await self.models.close()
        await self.pages.close()
