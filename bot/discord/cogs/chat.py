"""Talking to the bot: mention it (or DM it) to rate, get picks, or find similar movies; small
talk gets a short friendly answer, never a guessed title.

Works without the privileged message-content intent: Discord includes the content of
messages that mention the bot and of direct messages.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.core.chat_parse import ChatRequest, Talk, parse
from bot.core.list_chat import ListRequest, parse_list_request
from bot.discord.cards import rate_more_view
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.lists import picks_view
from bot.discord.member_data import forget_question, unrate_and_say
from bot.discord.movie_option import addable, which_one_text
from bot.discord.render import picks_embed, similar_embed, stars_text
from bot.discord.text import plural
from bot.discord.views import DidYouMeanView, OwnedView
from recommender.data import Movie
from recommender.titles import Resolution, names_a_movie

log = logging.getLogger(__name__)

RATE_HINT = "• `se7en 4.5` or `I'd give the shawshank redemption 5 stars` to rate"
HELP = (
    "I'm the movie club bot. Mention me (or DM me) with things like:\n"
    f"{RATE_HINT}\n"
    "• `recommend me something` or `something like alien`\n"
    "• `what did I rate`, `unrate alien` or `forget me`\n"
    "• `add alien to my watchlist`, `what's on my watchlist`, `not interested in cats`\n"
    "Or use the slash commands: `/rate`, `/recommend`, `/similar`, `/onboard`, `/movienight`."
)
EXAMPLES = "Try `se7en 4.5` to rate a movie, `something like alien` or `recommend me something`."
STAR_RANGE = "Stars go from ½ to 5"
RATED_HINT = "`what did I rate` lists your ratings."
UNRATE_WHICH = "Which rating should I remove? Say `unrate alien`, or use `/unrate`."
OPENERS: dict[Talk, str] = {
    "greeting": "Hi {name}! 👋",
    "thanks": "You're welcome! 🍿",
    "bye": "See you at the next movie night! 👋",
    "how": "Doing great, thanks for asking! 🎬",
    "who": "I'm the movie club bot: I learn your taste from your ratings and pick movies for you.",
    "ping": "I'm here! 👋",
    "laugh": "😄",
    "praise": "Thank you, that's kind! 😊",
    "scold": "Sorry about that, I'm still learning.",
    "sorry": "No worries!",
    "ack": "👍",
    "emoji": "🍿",
    "chatter": "I'm not sure what you mean.",
}


class StarsView(OwnedView):
    """Ask for the stars of a movie: whole stars as buttons, half stars in a menu."""

    def __init__(self, owner_id: int, movie: Movie) -> None:
        super().__init__(owner_id)
        self.movie = movie
        for n in range(1, 6):
            button: discord.ui.Button = discord.ui.Button(
                label="★" * n, style=discord.ButtonStyle.primary, custom_id=f"stars:{n}"
            )
            button.callback = self._pressed(float(n))  # type: ignore[method-assign]
            self.add_item(button)
        options = [
            discord.SelectOption(label=stars_text(v / 2), value=str(v / 2)) for v in range(1, 11)
        ]
        menu: discord.ui.Select = discord.ui.Select(
            placeholder="Half stars…", options=options, custom_id="stars:half"
        )
        menu.callback = self._selected  # type: ignore[method-assign]
        self.menu = menu
        self.add_item(menu)

    def _pressed(self, stars: float):
        async def pressed(interaction: Interaction) -> None:
            await save_rating(interaction, self.movie, stars)
            self.stop()

        return pressed

    async def _selected(self, interaction: Interaction) -> None:
        await save_rating(interaction, self.movie, float(self.menu.values[0]))
        self.stop()


async def save_rating(interaction: Interaction, movie: Movie, stars: float) -> None:
    """Store a rating picked with buttons and update the asking message."""
    ratings = interaction.client.services.ratings
    result = await ratings.rate(interaction.user.id, movie.movie_id, stars, "chat")
    count = plural(result.rated_count, "movie")
    text = f"Rated **{movie.display}**: {stars_text(stars)} (you've rated {count})."
    if interaction.response.is_done():
        await interaction.edit_original_response(content=text, view=None)
    else:
        await interaction.response.edit_message(content=text, view=None)


class Chat(commands.Cog):
    """Answers mentions and direct messages."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.ratings = bot.services.ratings
        self.queries = bot.services.queries

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Reply to DMs and to guild messages that mention the bot; ignore everything else."""
        me = self.bot.user
        if message.author.bot or me is None or message.author.id == me.id:
            return
        if message.guild is not None and me not in message.mentions:
            return
        try:
            wanted = parse_list_request(message.content)
            if wanted is not None:
                await self.list_request(message, wanted)
            else:
                await self.answer(message, parse(message.content))
        except Exception:
            log.exception("chat reply failed for message %s", message.id)
            await message.reply("Sorry, something went wrong on my side. Please try again.")

    async def answer(self, message: discord.Message, request: ChatRequest) -> None:
        """Do what the message asked and reply in the same channel."""
        user = message.author.id
        if request.intent == "recommend":
            picks, cold = await self.queries.recommend(user, 5)
            title = "Popular, well-loved movies" if cold else f"Picks for {message.author.name}"
            hint = "Rate a few movies so I can learn your taste." if cold else None
            embed = picks_embed(title, picks, hint)
            if cold:
                await message.reply(embed=embed, view=rate_more_view())
            else:
                await self._privately(message, embed=embed, view=picks_view(picks, False))
        elif request.intent == "similar":
            await self._with_title(message, request.title, self._similar)
        elif request.intent == "myratings":
            await self._my_ratings(message)
        elif request.intent == "rate":
            await self._rate(message, request)
        elif request.intent == "unrate" and not request.title:
            await message.reply(UNRATE_WHICH)
        elif request.intent == "unrate":
            await self._with_title(
                message, request.title, self._unrate, offer_add=False, hint=RATED_HINT
            )
        elif request.intent == "forget":
            await self._forget(message)
        elif request.intent == "smalltalk":
            await self._small_talk(message, request.talk or "chatter")
        elif request.out_of_range is not None:
            await message.reply(f"{STAR_RANGE} (not {request.out_of_range:g}).\n{HELP}")
        else:
            await message.reply(HELP)

    async def list_request(self, message: discord.Message, request: ListRequest) -> None:
        """Add a movie to (or take it off) a list, or send the watchlist privately."""
        lists = self.bot.services.lists
        user = message.author.id
        if request.action == "show":
            entries = await lists.entries(user, "watchlist")
            if not entries:
                await message.reply(
                    "Your watchlist is empty. Say `add alien to my watchlist` to start one."
                )
                return
            shown = [f"• {e.movie.display}" for e in entries[:15]]
            more = f"\n…and {len(entries) - 15} more: `/watchlist`" if len(entries) > 15 else ""
            text = f"Your watchlist ({plural(len(entries), 'movie')}):\n" + "\n".join(shown)
            await self._privately(
                message,
                "I sent your watchlist to you in a direct message.",
                "I couldn't DM you; use `/watchlist` to see it privately.",
                content=text + more,
            )
            return

        async def change(msg: discord.Message, movie: Movie) -> None:
            shown = discord.utils.escape_markdown(movie.display)
            if request.action == "remove":
                was = await lists.remove(msg.author.id, request.list, movie.movie_id)
                text = (
                    f"Took **{shown}** off your watchlist."
                    if was
                    else f"**{shown}** wasn't on your watchlist."
                )
            elif request.list == "watchlist":
                fresh = await lists.add(msg.author.id, "watchlist", movie.movie_id, "chat")
                count = (await lists.counts(msg.author.id))["watchlist"]
                text = (
                    f"Added **{shown}** to your watchlist ({plural(count, 'movie')})."
                    if fresh
                    else f"**{shown}** is already on your watchlist."
                )
            else:
                await lists.add(msg.author.id, "not_interested", movie.movie_id, "chat")
                text = f"Got it: I won't suggest **{shown}** to you again."
            await msg.reply(text)

        await self._with_title(message, request.title, change)

    async def _small_talk(self, message: discord.Message, talk: Talk) -> None:
        """A short friendly answer with a few things to try, in place of a guessed title."""
        name = discord.utils.escape_markdown(message.author.display_name)
        await message.reply(f"{OPENERS[talk].format(name=name)} {EXAMPLES}")

    async def _privately(
        self,
        message: discord.Message,
        sent: str = "I sent your picks to you in a direct message.",
        failed: str = "I couldn't DM you; use `/recommend` to see your picks privately.",
        **reply: object,
    ) -> None:
        """Personal answers (picks citing the user's ratings, their data) go by DM when asked in
        a server: `sent` says so in the channel, `failed` when the member's DMs are closed."""
        if message.guild is None:
            await message.reply(**reply)  # type: ignore[arg-type]
            return
        try:
            await message.author.send(**reply)  # type: ignore[arg-type]
            await message.reply(sent)
        except discord.HTTPException:
            await message.reply(failed)

    async def _forget(self, message: discord.Message) -> None:
        """The /forgetme confirmation, in private; nothing is deleted until it is confirmed."""
        text, view = await forget_question(self.ratings, self.queries, message.author.id)
        await self._privately(
            message,
            "I sent you a direct message to confirm.",
            "I couldn't DM you; use `/forgetme` to do it privately.",
            content=text,
            view=view,
        )

    async def _unrate(self, message: discord.Message, movie: Movie) -> None:
        await message.reply(await unrate_and_say(self.ratings, message.author.id, movie))

    async def _similar(self, message: discord.Message, movie: Movie) -> None:
        await message.reply(embed=similar_embed(movie, self.queries.similar(movie.movie_id, 8)))

    async def _my_ratings(self, message: discord.Message) -> None:
        rows = await self.queries.ratings_of(message.author.id, limit=15)
        if not rows:
            await message.reply("You haven't rated anything yet. Try `se7en 4.5`!")
            return
        total = await self.queries.rating_count(message.author.id)
        lines = [f"{stars_text(r.stars)} · {self.queries.movie(r.movie_id).display}" for r in rows]
        more = f"\n…and {total - len(rows)} more: `/myratings`" if total > len(rows) else ""
        text = f"Your latest ratings ({total} in all):\n" + "\n".join(lines) + more
        await self._privately(
            message,
            "I sent your ratings to you in a direct message.",
            "I couldn't DM you; use `/myratings` to see them privately.",
            content=text,
        )

    async def _rate(self, message: discord.Message, request: ChatRequest) -> None:
        query = request.title
        stars = request.stars
        found = None
        if not request.sure:
            # a bare phrase ("thanks for the recs") is a title only if one clearly matches it;
            # "Title (Year)" may be a film to add
            found = self.queries.resolve(query)
            if addable(query) is None and not names_a_movie(query, found):
                await self._small_talk(message, request.talk or "chatter")
                return
        ask = "How many stars for"
        if request.out_of_range is not None:
            ask = f"{STAR_RANGE} (not {request.out_of_range:g}). How many stars for"
        if request.bare_number and stars is not None:
            # "toy story 2": a sequel's title, or Toy Story at 2 stars? ask if both exist
            whole = self.queries.resolve(f"{query} {stars:g}").movie
            alone = self.queries.resolve(query).movie
            if whole is not None and (alone is None or whole.movie_id != alone.movie_id):
                stars = None
                query = f"{query} {request.stars:g}"

        async def rate(msg: discord.Message, movie: Movie) -> None:
            if stars is None:
                view = StarsView(msg.author.id, movie)
                await msg.reply(f"{ask} **{movie.display}**?", view=view)
                return
            result = await self.ratings.rate(msg.author.id, movie.movie_id, stars, "chat")
            text = f"Rated **{movie.display}**: {stars_text(stars)}"
            if result.previous is not None and result.previous != stars:
                text += f" (was {result.previous:g})"
            await msg.reply(text + f". You've rated {plural(result.rated_count, 'movie')}.")

        await self._with_title(message, query, rate, found)

    async def _with_title(
        self,
        message: discord.Message,
        text: str,
        then,
        found: Resolution | None = None,
        offer_add: bool = True,
        hint: str = RATE_HINT,
    ) -> None:
        """Continue with the movie the text names, or ask which one with buttons (with one to
        add a "Title (Year)" the catalog lacks, when `offer_add`); `hint` follows "not found"."""
        if found is None:
            found = self.queries.resolve(text)
        if found.movie is not None:
            await then(message, self.queries.movie(found.movie.movie_id))
            return
        covers = self.queries.catalog_summary()
        add = addable(text) if offer_add else None
        if not found.candidates and add is None:
            shown = discord.utils.escape_markdown(text[:80])
            await message.reply(f"I don't know a movie called “{shown}” (I know {covers}). {hint}")
            return

        async def picked(interaction: Interaction, movie: Movie) -> None:
            await interaction.response.edit_message(
                content=f"**{movie.display}** it is.", view=None
            )
            await then(message, movie)

        view = DidYouMeanView(message.author.id, found.candidates, picked, add=add)
        await message.reply(which_one_text(text, found.candidates, covers, add), view=view)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Chat(bot))
