"""List buttons and menus: "Watchlist +", "Seen it", "Not interested" and their undo, on any
message; they act for whoever clicks and survive restarts (all state is in the custom id).

Also the paged list view that /watchlist, /myratings and the server list share.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.core.member_lists import Listed
from bot.core.queries import Pick
from bot.discord.cards import RateMoreButton
from bot.discord.claims import claim
from bot.discord.errors import report_error
from bot.discord.interaction import Interaction
from bot.discord.render import COLOR, stars_text
from bot.discord.text import clip, plural
from bot.discord.views import OwnedView
from recommender.data import Movie

log = logging.getLogger(__name__)

CODES = {"w": "watchlist", "s": "seen", "n": "not_interested"}
LETTERS = {name: code for code, name in CODES.items()}
LIST_BUTTON_ID = r"ls:(?P<op>[+-])(?P<list>[wsn]):(?P<movie>\d+)"
STAR_BUTTON_ID = r"ls:r(?P<halves>10|[1-9]):(?P<movie>\d+)"
PICK_SELECT_ID = r"pk:(?P<list>[wsn])"
PLACEHOLDERS = {
    "watchlist": "📋 Add to my watchlist…",
    "seen": "👁 Seen it…",
    "not_interested": "🙅 Not interested…",
}
PAGE_SIZE = 10


def added_text(name: str, movie: Movie, fresh: bool) -> str:
    """What a member is told after putting a movie on a list."""
    shown = f"**{discord.utils.escape_markdown(movie.display)}**"
    if name == "watchlist":
        head = f"Added {shown} to your watchlist." if fresh else f"{shown} is on your watchlist."
        return head + " `/watchlist` shows it; `/recommend from:watchlist` picks from it."
    if name == "seen":
        return (
            f"Marked {shown} as seen: it won't come up in your picks again. "
            "How many stars would you give it?"
        )
    return (
        f"Got it: I won't suggest {shown} to you again, nor in movie nights with you. "
        "`/myratings show:not interested` lists these."
    )


def removed_text(name: str, movie: Movie, was: bool) -> str:
    """What a member is told after taking a movie off a list."""
    shown = f"**{discord.utils.escape_markdown(movie.display)}**"
    where = {"watchlist": "your watchlist", "seen": "your seen movies"}.get(
        name, "your “not interested” movies"
    )
    return f"Took {shown} off {where}." if was else f"{shown} wasn't on {where}."


class ListButton(discord.ui.DynamicItem[discord.ui.Button], template=LIST_BUTTON_ID):
    """Put a movie on (+) or take it off (-) one of the clicker's lists."""

    def __init__(self, op: str, name: str, movie_id: int, label: str | None = None) -> None:
        default = {
            ("+", "watchlist"): "Watchlist +",
            ("-", "watchlist"): "On your watchlist ✓",
            ("+", "seen"): "Seen it",
            ("+", "not_interested"): "Not interested",
        }.get((op, name), "Undo")
        style = discord.ButtonStyle.secondary
        if (op, name) == ("+", "watchlist"):
            style = discord.ButtonStyle.success
        super().__init__(
            discord.ui.Button(
                label=label or default,
                style=style,
                custom_id=f"ls:{op}{LETTERS[name]}:{movie_id}",
            )
        )
        self.op, self.name, self.movie_id = op, name, movie_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ListButton:
        """Rebuild from a clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(match["op"], CODES[match["list"]], int(match["movie"]), item.label)

    async def callback(self, interaction: Interaction) -> None:
        """Change the clicker's list and say so privately (with a way back)."""
        try:
            await change_list(interaction, self.op, self.name, self.movie_id)
        except Exception as error:
            await report_error(interaction, error)


class StarButton(discord.ui.DynamicItem[discord.ui.Button], template=STAR_BUTTON_ID):
    """Rate a movie just marked "seen" (half stars in the custom id: 9 = 4.5)."""

    def __init__(self, halves: int, movie_id: int, row: int = 0) -> None:
        stars = halves / 2
        label = "★" * int(stars) + ("½" if halves % 2 else "")
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"ls:r{halves}:{movie_id}",
                row=row,
            )
        )
        self.halves, self.movie_id = halves, movie_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> StarButton:
        """Rebuild from a clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(int(match["halves"]), int(match["movie"]), item.row or 0)

    async def callback(self, interaction: Interaction) -> None:
        """Save the rating and replace the question with it."""
        try:
            services = interaction.client.services
            stars = self.halves / 2
            result = await services.ratings.rate(interaction.user.id, self.movie_id, stars, "slash")
            shown = discord.utils.escape_markdown(result.movie.display)
            text = (
                f"Rated **{shown}**: {stars_text(stars)} "
                f"(you've rated {plural(result.rated_count, 'movie')})."
            )
            await interaction.response.edit_message(content=text, view=None)
        except Exception as error:
            await report_error(interaction, error)


class PickSelect(discord.ui.DynamicItem[discord.ui.Select], template=PICK_SELECT_ID):
    """A menu of the movies on a message: put the chosen one on one of the clicker's lists."""

    def __init__(self, name: str, options: Sequence[discord.SelectOption], row: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"pk:{LETTERS[name]}",
                placeholder=PLACEHOLDERS[name],
                options=list(options),
                row=row,
            )
        )
        self.name = name

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Select, match: re.Match[str]
    ) -> PickSelect:
        """Rebuild from the message's menu (its options carry the movie ids)."""
        claim(interaction)
        return cls(CODES[match["list"]], item.options, item.row or 0)

    async def callback(self, interaction: Interaction) -> None:
        """Put the chosen movie on the list."""
        try:
            chosen = self.item.values[0]
            if not chosen.isdigit():
                raise ValueError("that choice is not a movie")
            await change_list(interaction, "+", self.name, int(chosen))
        except Exception as error:
            await report_error(interaction, error)


async def change_list(interaction: Interaction, op: str, name: str, movie_id: int) -> None:
    """Add to or remove from the clicker's list and answer privately: a new message with a way
    back for additions, the same message edited for an undo on a private message."""
    services = interaction.client.services
    member = interaction.user.id
    movie = services.queries.movie(movie_id)
    view = discord.ui.View(timeout=None)
    if op == "+":
        fresh = await services.lists.add(member, name, movie.movie_id)
        text = added_text(name, movie, fresh)
        if name == "seen":
            for halves in range(2, 11, 2):
                view.add_item(StarButton(halves, movie.movie_id, row=0))
            for halves in range(1, 10, 2):
                view.add_item(StarButton(halves, movie.movie_id, row=1))
        undo = ListButton("-", name, movie.movie_id, "Undo")
        undo.item.row = 2 if name == "seen" else 0
        view.add_item(undo)
        await interaction.response.send_message(text, view=view, ephemeral=True)
        return
    was = await services.lists.remove(member, name, movie.movie_id)
    text = removed_text(name, movie, was)
    message = interaction.message
    if message is not None and message.flags.ephemeral and message.content:
        await interaction.response.edit_message(content=text, view=None)
    else:
        await interaction.response.send_message(text, ephemeral=True)


def pick_options(movies: Sequence[Movie]) -> list[discord.SelectOption]:
    """Menu options for movies (at most 25, labels within 100 characters)."""
    return [
        discord.SelectOption(label=clip(m.display, 100), value=str(m.movie_id)) for m in movies[:25]
    ]


def picks_view(picks: Sequence[Pick], rate_more: bool = True) -> discord.ui.View:
    """Under a list of picks: watchlist, seen it and not interested menus (and "Rate more")."""
    view = discord.ui.View(timeout=None)
    if rate_more:
        view.add_item(RateMoreButton())
    options = pick_options([p.movie for p in picks])
    if options:
        for row, name in enumerate(("watchlist", "seen", "not_interested"), start=1):
            view.add_item(PickSelect(name, options, row))
    return view


def watchlist_menu(movies: Sequence[Movie]) -> discord.ui.View | None:
    """A "add to my watchlist" menu for a list of movies (None when there are none)."""
    options = pick_options(movies)
    if not options:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PickSelect("watchlist", options, 0))
    return view


def movie_buttons(movie: Movie, lists: set[str]) -> discord.ui.View:
    """Under /movie: the watchlist button (or its undo), seen it, not interested."""
    view = discord.ui.View(timeout=None)
    if "watchlist" in lists:
        view.add_item(ListButton("-", "watchlist", movie.movie_id))
    else:
        view.add_item(ListButton("+", "watchlist", movie.movie_id))
    if "seen" not in lists:
        view.add_item(ListButton("+", "seen", movie.movie_id))
    if "not_interested" not in lists:
        view.add_item(ListButton("+", "not_interested", movie.movie_id))
    return view


Remover = Callable[[Interaction, Listed], Awaitable[str]]


class ListPager(OwnedView):
    """A paged list of movies with a menu to take one off (the member's own lists, a server's
    list). `remove` does the removal and returns what to say."""

    def __init__(
        self,
        owner_id: int,
        title: str,
        entries: list[Listed],
        remove: Remover,
        placeholder: str,
        footer: str = "",
        names: dict[int, str] | None = None,
        empty: str = "Nothing here yet.",
    ) -> None:
        """`names` (member id -> name) shows who added each movie instead of when."""
        super().__init__(owner_id, timeout=600)
        self.title, self.entries, self.remove = title, entries, remove
        self.placeholder, self.footer, self.names = placeholder, footer, names
        self.empty = empty
        self.page = 0
        self.refresh()

    @property
    def pages(self) -> int:
        """How many pages the list takes."""
        return max(1, -(-len(self.entries) // PAGE_SIZE))

    def _shown(self) -> list[Listed]:
        return self.entries[self.page * PAGE_SIZE : (self.page + 1) * PAGE_SIZE]

    @property
    def embed(self) -> discord.Embed:
        """The current page."""
        lines = []
        for k, entry in enumerate(self._shown(), start=self.page * PAGE_SIZE + 1):
            line = f"`{k:>2}.` **{discord.utils.escape_markdown(entry.movie.display)}**"
            if self.names is not None:
                who = self.names.get(entry.added_by or 0, "a former member")
                line += f" · added by {who}"
            else:
                line += f" · {time.strftime('%Y-%m-%d', time.gmtime(entry.added_at))}"
            lines.append(line)
        embed = discord.Embed(title=clip(self.title, 256), colour=COLOR)
        embed.description = clip("\n".join(lines) or self.empty, 4096)
        count = plural(len(self.entries), "movie")
        embed.set_footer(text=clip(" · ".join(x for x in (count, self.footer) if x), 2048))
        return embed

    def refresh(self) -> None:
        """Rebuild the menu and buttons for the current page."""
        self.clear_items()
        self.page = min(self.page, self.pages - 1)
        shown = self._shown()
        if shown:
            menu: discord.ui.Select = discord.ui.Select(
                custom_id="list:remove",
                placeholder=self.placeholder,
                options=pick_options([e.movie for e in shown]),
                row=0,
            )
            menu.callback = self._removed  # type: ignore[method-assign]
            self.menu = menu
            self.add_item(menu)
        if self.pages > 1:
            for label, step, cid in (("◀ Prev", -1, "list:prev"), ("Next ▶", 1, "list:next")):
                button: discord.ui.Button = discord.ui.Button(
                    label=label, style=discord.ButtonStyle.secondary, custom_id=cid, row=1
                )
                button.disabled = not 0 <= self.page + step < self.pages
                button.callback = self._turn(step)  # type: ignore[method-assign]
                self.add_item(button)

    def _turn(self, step: int) -> Callable[[Interaction], Awaitable[None]]:
        async def turn(interaction: Interaction) -> None:
            self.page += step
            self.refresh()
            await interaction.response.edit_message(content=None, embed=self.embed, view=self)

        return turn

    async def _removed(self, interaction: Interaction) -> None:
        chosen = int(self.menu.values[0])
        entry = next((e for e in self.entries if e.movie.movie_id == chosen), None)
        if entry is None:
            await interaction.response.send_message(
                "That movie is no longer listed.", ephemeral=True
            )
            return
        text = await self.remove(interaction, entry)
        self.entries = [e for e in self.entries if e.movie.movie_id != chosen]
        self.refresh()
        await interaction.response.edit_message(content=text, embed=self.embed, view=self)


DYNAMIC_LIST_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ListButton,
    StarButton,
    PickSelect,
)
