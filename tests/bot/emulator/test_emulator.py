"""The Discord emulator against a real discord.py bot over real sockets, plus validate.py units."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord.endpoints import discord_endpoints
from bot.emulator import CommandUnavailable, DiscordEmulator, OptionError, Upload, render_message
from bot.emulator import validate as v
from bot.emulator.options import OptionBuilder
from bot.emulator.state import CREATE_EVENTS, EmulatorState, EmuUser

GUILD_ID = 111_111
OWNER, ALICE, BOB = 7, 42, 43
MOVIES = ["Se7en", "Seven Samurai", "Alien", "Aliens"]


class TestBot(commands.Bot):
    """A tiny bot exercising every interaction shape the emulator supports."""

    __test__ = False

    def __init__(self) -> None:
        """Default (non-privileged) intents; no 2 s wait for guilds after READY."""
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0,
            help_command=None,
        )
        self.errors: list[Exception] = []
        self.seen: list[str] = []
        self.response_ids: list[int | None] = []
        self.event_news: list[tuple[str, int]] = []

    async def on_scheduled_event_create(self, event: discord.ScheduledEvent) -> None:
        """Remember scheduled-event news as (what, event id or user id)."""
        self.event_news.append(("create", event.id))

    async def on_scheduled_event_update(
        self, before: discord.ScheduledEvent, after: discord.ScheduledEvent
    ) -> None:
        self.event_news.append((f"status {after.status.value}", after.id))

    async def on_scheduled_event_delete(self, event: discord.ScheduledEvent) -> None:
        self.event_news.append(("delete", event.id))

    async def on_message(self, message: discord.Message) -> None:
        """Answer DMs and guild messages that mention the bot; remember what content arrived."""
        if message.author.bot:
            return
        self.seen.append(message.content)
        if message.guild is None:
            sent = await message.channel.send(f"dm: {message.content}")
            if "edit" in message.content:
                await sent.edit(content="edited", embed=discord.Embed(title="Now with embed"))
        elif self.user in message.mentions:
            await message.reply(f"hi {message.author.name}")


class VoteView(discord.ui.View):
    """Buttons that edit the message, answer ephemerally or close the vote; a user select."""

    def __init__(self) -> None:
        """Count up-votes per message."""
        super().__init__(timeout=60)
        self.ups = 0

    @discord.ui.button(label="Up", custom_id="vote:up", style=discord.ButtonStyle.primary)
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Edit the message in place (callback type 7)."""
        self.ups += 1
        await interaction.response.edit_message(content=f"Up: {self.ups}", view=self)

    @discord.ui.button(label="Secret", custom_id="vote:secret")
    async def secret(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Answer with a new ephemeral message (type 4)."""
        await interaction.response.send_message("psst", ephemeral=True)

    @discord.ui.button(label="Close", custom_id="vote:close", style=discord.ButtonStyle.danger)
    async def close(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Disable every button."""
        for item in self.children:
            item.disabled = True  # type: ignore[attr-defined]
        await interaction.response.edit_message(content="closed", view=self)

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="vote:friend", placeholder="A friend")
    async def friend(self, interaction: discord.Interaction, select: discord.ui.UserSelect) -> None:
        """Resolved user data arrives as a Member."""
        await interaction.response.send_message(f"picked {select.values[0].name}")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A one-field modal."""

    text = discord.ui.TextInput(label="Your thoughts", custom_id="fb:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo what was typed."""
        await interaction.response.send_message(f"thanks: {self.text.value}")


def build_bot() -> TestBot:
    """The bot with its slash commands."""
    bot = TestBot()
    tree = bot.tree

    @tree.command(description="Rate a movie")
    async def rate(
        interaction: discord.Interaction, movie: str, stars: app_commands.Range[float, 0.5, 5.0]
    ) -> None:
        await interaction.response.send_message(f"Rated {movie} {stars}", ephemeral=True)

    @rate.autocomplete("movie")
    async def movie_choices(interaction: discord.Interaction, current: str) -> list:
        if current == "many":
            many = [app_commands.Choice(name=f"m{i}", value=f"m{i}") for i in range(26)]
            try:
                await interaction.response.autocomplete(many)
            except discord.HTTPException as exc:
                bot.errors.append(exc)
            return []
        return [
            app_commands.Choice(name=m, value=m) for m in MOVIES if current.lower() in m.lower()
        ]

    @tree.command(description="Recommend for a friend")
    async def recommend(interaction: discord.Interaction, friend: discord.Member) -> None:
        await interaction.response.send_message(f"For {friend.name} in {friend.guild.name}")

    @tree.command(description="Think, then edit")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done")

    @tree.command(description="Answer and follow up")
    async def multi(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        await interaction.followup.send("second", ephemeral=True)

    @tree.command(description="Ephemeral deferral answered by a follow-up")
    async def quiet(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send("from followup")

    @tree.command(description="Start a vote")
    async def vote(interaction: discord.Interaction) -> None:
        response = await interaction.response.send_message("Vote!", view=VoteView())
        bot.response_ids.append(response.message_id)

    @tree.command(description="Say something, then take it back")
    async def oops(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("temporary")
        await interaction.delete_original_response()

    @tree.command(description="Give feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @tree.command(description="DM me")
    async def dm_me(interaction: discord.Interaction) -> None:
        await interaction.user.send("psst in DM")
        await interaction.response.send_message("sent", ephemeral=True)

    async def attempt(coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except discord.HTTPException as exc:
            bot.errors.append(exc)

    @tree.command(description="Too long")
    async def long(interaction: discord.Interaction) -> None:
        await attempt(interaction.response.send_message("x" * 2001))

    @tree.command(description="Bad button")
    async def badbutton(interaction: discord.Interaction) -> None:
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="b", custom_id="b" * 101))
        await attempt(interaction.response.send_message("bad", view=view))

    @tree.command(description="Too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.35)
        await attempt(interaction.response.send_message("late"))

    @tree.command(description="Answer twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        interaction.response._response_type = None  # bypass discord.py's own guard
        await attempt(interaction.response.send_message("two"))

    @tree.command(description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("admin ok")

    @tree.command(description="Read a file and send it back upper-cased")
    async def shout(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        back = discord.File(io.BytesIO(data.upper()), filename=f"loud-{file.filename}")
        await interaction.response.send_message(
            f"{file.filename}: {file.size} bytes", file=back, ephemeral=True
        )

    club = app_commands.Group(name="club", description="Movie club")

    @club.command(description="Join the club")
    async def join(interaction: discord.Interaction, nickname: str) -> None:
        await interaction.response.send_message(f"welcome {nickname}")

    tree.add_command(club)
    return bot


@pytest.fixture
async def env() -> AsyncIterator[tuple[DiscordEmulator, TestBot]]:
    """A running emulator with one guild, and the bot logged in, ready and guild-synced."""
    emu = await DiscordEmulator().start()
    guild = emu.add_guild(GUILD_ID, "Movie Club", owner_id=OWNER)
    emu.add_member(GUILD_ID, ALICE, "alice")
    emu.add_member(GUILD_ID, BOB, "bob", permissions=8)
    emu.set_voice_state(GUILD_ID, ALICE, guild.voice_channel_id)
    endpoints = discord_endpoints(emu.api_base, emu.gateway_url)
    endpoints.__enter__()
    bot = build_bot()
    task: asyncio.Task[None] | None = None
    try:
        await bot.login("test-token")
        task = asyncio.create_task(bot.connect(reconnect=False))
        await emu.wait_until_connected(timeout=5)
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        bot.tree.copy_global_to(guild=discord.Object(GUILD_ID))
        await bot.tree.sync(guild=discord.Object(GUILD_ID))
        yield emu, bot
    finally:
        await bot.close()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
        await emu.close()
        endpoints.__exit__(None, None, None)


# --- end to end --------------------------------------------------------------------------------


async def test_login_ready_and_guild_state(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    assert bot.user is not None and bot.user.id == emu.bot_user_id
    assert bot.application_id == emu.application_id
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "Movie Club" and not guild.unavailable
    voice = guild.get_channel(emu.state.guilds[GUILD_ID].voice_channel_id)
    assert isinstance(voice, discord.VoiceChannel)
    assert [m.id for m in voice.members] == [ALICE]
    emu.set_voice_state(GUILD_ID, BOB, voice.id)
    await emu.wait_until(lambda: len(voice.members) == 2, 5, "BOB in voice")
    assert sorted(m.id for m in voice.members) == [ALICE, BOB]
    emu.remove_member(GUILD_ID, ALICE)
    await emu.wait_until(lambda: len(voice.members) == 1, 5, "ALICE to leave voice")
    assert [m.id for m in voice.members] == [BOB]
    assert emu.gateway.identify_count == 1 and emu.gateway.seq > 2
    assert emu.violations == [] and emu.unknown_routes == []


async def test_attachment_options_are_served_to_the_bot_and_its_files_come_back(
    env: tuple[DiscordEmulator, TestBot],
) -> None:
    emu, _ = env
    inter = await emu.slash(
        "shout", {"file": Upload("notes.csv", b"a,b\n1,2\n")}, user_id=ALICE, guild_id=GUILD_ID
    )
    reply = await inter.response()
    assert reply.content == "notes.csv: 8 bytes" and reply.message is not None
    (sent,) = reply.message.attachments
    assert sent["filename"] == "loud-notes.csv" and sent["size"] == 8
    assert emu.file_data(sent) == b"A,B\n1,2\n"
    uploaded = next(iter(inter.payload["data"]["resolved"]["attachments"]))
    assert emu.downloaded(uploaded)
    assert "(attachment: loud-notes.csv)" in render_message(reply.message.data)
    with pytest.raises(OptionError, match="uploads at most"):
        await emu.slash(
            "shout",
            {"file": Upload("big.bin", b"x" * (emu.attachment_size_limit + 1))},
            user_id=ALICE,
            guild_id=GUILD_ID,
        )
    with pytest.raises(OptionError, match="attach a file"):
        await emu.slash("shout", {"file": "notes.csv"}, user_id=ALICE, guild_id=GUILD_ID)
    url = f"{emu.state.base_url}/attachments/1/nothing.csv"
    async with aiohttp.ClientSession() as http, http.get(url) as missing:
        assert missing.status == 404
    assert emu.violations == [] and emu.unknown_routes == []


async def test_reconnect_resumes_and_replays(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    emu.force_reconnect()
    inter = await emu.slash("multi", user_id=ALICE, guild_id=GUILD_ID)  # may hit the old socket
    assert (await inter.response()).content == "first"
    assert [m.content for m in await inter.wait_followups(1)] == ["second"]
    await emu.wait_until(lambda: emu.gateway.resume_count == 1, 5, "RESUME")
    assert emu.gateway.identify_count == 1
    assert emu.violations == []


async def test_guild_and_global_sync_store_commands(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    guild_cmds = await emu.wait_commands_registered("rate", "club", guild_id=GUILD_ID)
    assert {"rate", "vote", "club", "admin"} <= {c["name"] for c in guild_cmds}
    rate = next(c for c in emu.commands(GUILD_ID) if c["name"] == "rate")
    assert [(o["name"], o["type"], o.get("autocomplete", False)) for o in rate["options"]] == [
        ("movie", 3, True),
        ("stars", 10, False),
    ]
    assert emu.commands() == []
    synced = await bot.tree.sync()
    assert {c.name for c in synced} == {c["name"] for c in emu.commands()}
    assert all(c.id for c in synced)
    inter = await emu.slash("rate", {"movie": "Alien", "stars": 3}, user_id=ALICE)  # in a DM
    reply = await inter.response()
    assert reply.content == "Rated Alien 3.0" and "user" in inter.payload and inter.guild_id is None
    assert emu.violations == []


async def test_slash_with_options_answers_ephemeral(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    inter = await emu.slash(
        "rate", {"movie": "Se7en", "stars": 4.5}, user_id=ALICE, guild_id=GUILD_ID
    )
    reply = await inter.response(timeout=5)
    assert reply.type == 4 and reply.content == "Rated Se7en 4.5" and reply.ephemeral
    assert inter.first_response_ms is not None and 0 <= inter.first_response_ms < 3000
    with pytest.raises(OptionError):
        await emu.slash("rate", {"movie": "x", "stars": 9}, user_id=ALICE, guild_id=GUILD_ID)
    with pytest.raises(OptionError):
        await emu.slash("rate", {"movie": "x"}, user_id=ALICE, guild_id=GUILD_ID)
    assert emu.violations == []


async def test_user_option_subcommand_and_permissions(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    inter = await emu.slash("recommend", {"friend": BOB}, user_id=ALICE, guild_id=GUILD_ID)
    assert (await inter.response()).content == "For bob in Movie Club"
    inter = await emu.slash("club join", {"nickname": "Al"}, user_id=ALICE, guild_id=GUILD_ID)
    assert (await inter.final()).content == "welcome Al"
    with pytest.raises(CommandUnavailable):
        await emu.slash("admin", user_id=ALICE, guild_id=GUILD_ID)
    inter = await emu.slash("admin", user_id=BOB, guild_id=GUILD_ID)
    assert (await inter.response()).content == "admin ok"
    assert emu.violations == []


async def test_deferred_then_edit_original(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    inter = await emu.slash("slow", user_id=ALICE, guild_id=GUILD_ID)
    reply = await inter.response()
    assert reply.type == 5 and reply.deferred and not reply.ephemeral
    final = await inter.final(timeout=5)
    assert final is not None and final.content == "done" and inter.edits == 1
    assert final.id == reply.id and final.flags & 128 == 0
    assert emu.violations == []


async def test_followups(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    inter = await emu.slash("multi", user_id=ALICE, guild_id=GUILD_ID)
    assert (await inter.final()).content == "first"  # type: ignore[union-attr]
    (second,) = await inter.wait_followups(1)
    assert second.content == "second" and second.ephemeral
    quiet = await emu.slash("quiet", user_id=ALICE, guild_id=GUILD_ID)
    final = await quiet.final()
    assert final is not None and final.content == "from followup" and final.ephemeral
    assert final.id == (await quiet.response()).id
    assert emu.violations == []


async def test_autocomplete_returns_choices(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    choices = await emu.autocomplete(
        "rate", {"movie": "se"}, focused="movie", user_id=ALICE, guild_id=GUILD_ID
    )
    assert choices == [
        {"name": "Se7en", "value": "Se7en"},
        {"name": "Seven Samurai", "value": "Seven Samurai"},
    ]
    assert emu.violations == []


async def test_buttons_edit_and_ephemeral_and_disabled(
    env: tuple[DiscordEmulator, TestBot],
) -> None:
    emu, bot = env
    reply = await (await emu.slash("vote", user_id=ALICE, guild_id=GUILD_ID)).response()
    await emu.wait_until(lambda: bot.response_ids, 5, "send_message to return")
    assert bot.response_ids == [reply.id]  # discord.py read the with_response body
    assert [b.label for b in reply.buttons] == ["Up", "Secret", "Close"]
    assert "[Up] [Secret] [Close]" in reply.text
    up = await (await emu.click(reply, "vote:up", user_id=BOB)).response()
    assert up.type == 7 and up.content == "Up: 1"
    up = await (await emu.click(reply, "vote:up", user_id=ALICE)).response()
    assert up.content == "Up: 2" and emu.message(reply).content == "Up: 2"
    secret = await (await emu.click(reply, "vote:secret", user_id=BOB)).response()
    assert secret.type == 4 and secret.content == "psst" and secret.ephemeral
    await (await emu.click(reply, "vote:close", user_id=BOB)).response()
    assert all(b.disabled for b in emu.message(reply).buttons)
    with pytest.raises(ValueError, match="disabled"):
        await emu.click(reply, "vote:up", user_id=BOB)
    assert emu.violations == []


async def test_user_select_resolves_member(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    reply = await (await emu.slash("vote", user_id=ALICE, guild_id=GUILD_ID)).response()
    assert reply.selects[0].custom_id == "vote:friend"
    picked = await (await emu.select(reply, "vote:friend", [BOB], user_id=ALICE)).response()
    assert picked.content == "picked bob"
    assert emu.violations == []


async def test_mention_answered_and_content_intent(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    channel = emu.state.guilds[GUILD_ID].text_channel_id
    said = await emu.send_message(channel, ALICE, "hello", mention_bot=True)
    answer = await emu.next_message(channel, timeout=5)
    assert answer.content == "hi alice" and answer.reference_id == said.id
    await emu.send_message(channel, BOB, "no mention here")
    await emu.wait_until(lambda: len(bot.seen) == 2, 5, "the second message")
    assert bot.seen == [f"<@{emu.bot_user_id}> hello", ""]  # no MESSAGE_CONTENT intent
    assert emu.violations == []


async def test_reply_to_finds_the_answer_to_that_message(
    env: tuple[DiscordEmulator, TestBot],
) -> None:
    emu, _ = env
    channel = emu.state.guilds[GUILD_ID].text_channel_id
    from_alice = await emu.send_message(channel, ALICE, "hello", mention_bot=True)
    from_bob = await emu.send_message(channel, BOB, "hello", mention_bot=True)
    assert (await emu.reply_to(from_bob)).content == "hi bob"
    assert (await emu.reply_to(from_alice)).content == "hi alice"
    with pytest.raises(TimeoutError, match="a reply to message"):
        await emu.reply_to(await emu.send_message(channel, BOB, "no mention"), timeout=0.2)


async def test_feed_shows_each_visible_change_once_in_order(
    env: tuple[DiscordEmulator, TestBot],
) -> None:
    emu, _ = env
    feed = emu.feed()
    assert not feed.pending() and feed.drain() == []
    await (await emu.slash("slow", user_id=ALICE, guild_id=GUILD_ID)).final()
    await (await emu.slash("dm_me", user_id=BOB, guild_id=GUILD_ID)).response()
    await emu.next_dm(BOB)
    vote = await (await emu.slash("vote", user_id=ALICE, guild_id=GUILD_ID)).response()
    items = feed.drain()
    assert [(item.kind, item.message.content) for item in items] == [
        ("new", "done"),  # the "thinking…" message appears once it is filled in
        ("new", "psst in DM"),
        ("new", "sent"),
        ("new", "Vote!"),
    ]
    assert emu.state.channels[items[1].message.channel_id].recipient_id == BOB
    await (await emu.click(vote, "vote:up", user_id=BOB)).response()
    await (await emu.click(vote, "vote:secret", user_id=BOB)).response()
    await emu.send_message(emu.state.guilds[GUILD_ID].text_channel_id, ALICE, "from a user")
    emu.state.edit_message(vote.id, {"content": "Up: 1"})  # nothing visible changes
    items = feed.drain()
    assert [(item.kind, item.message.content) for item in items] == [
        ("edited", "Up: 1"),
        ("new", "psst"),
    ]
    assert items[0].message.id == vote.id and items[0].message.buttons == vote.buttons
    assert feed.drain() == []

    oops = await emu.slash("oops", user_id=ALICE, guild_id=GUILD_ID)
    await feed.wait(timeout=5)
    await emu.wait_until(lambda: oops.original is not None, 5, "the reply")
    assert [(i.kind, i.message.content) for i in feed.drain()] == [("new", "temporary")]
    await emu.wait_until(lambda: oops.original is None, 5, "the deletion")
    assert [(i.kind, i.message.content) for i in feed.drain()] == [("deleted", "temporary")]
    assert emu.violations == []


async def test_feed_skips_a_message_deleted_before_it_was_seen(
    env: tuple[DiscordEmulator, TestBot],
) -> None:
    emu, _ = env
    feed = emu.feed()
    oops = await emu.slash("oops", user_id=ALICE, guild_id=GUILD_ID)
    await emu.wait_until(lambda: oops.acknowledged and oops.original is None, 5, "the deletion")
    assert feed.pending() and feed.drain() == []


def test_a_value_outside_the_choices_lists_them() -> None:
    builder = OptionBuilder(EmulatorState(EmuUser(1, "bot", bot=True), 1), None)
    stars = {
        "name": "stars",
        "type": 10,
        "choices": [{"name": "★★★★★ 5", "value": 5.0}, {"name": "½ 0.5", "value": 0.5}],
    }
    assert builder.value(stars, "5") == 5.0
    with pytest.raises(OptionError, match=r"^stars: 7 is not one of the choices: 5, 0.5$"):
        builder.value(stars, "7")
    strategy = {"name": "strategy", "type": 3, "choices": [{"name": "fair", "value": "fair"}]}
    with pytest.raises(OptionError, match=r"^strategy: mean is not one of the choices: fair$"):
        builder.value(strategy, "mean")
    with pytest.raises(OptionError, match=r"^count: expected a number, got 'x'$"):
        builder.value({"name": "count", "type": 4}, "x")


async def test_direct_messages_both_ways(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    await emu.send_dm(ALICE, "hey")
    assert (await emu.next_dm(ALICE)).content == "dm: hey"
    inter = await emu.slash("dm_me", user_id=BOB, guild_id=GUILD_ID)
    assert (await inter.response()).content == "sent"
    assert (await emu.next_dm(BOB)).content == "psst in DM"
    assert emu.violations == []


async def test_modal_shown_and_submitted(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    inter = await emu.slash("feedback", user_id=ALICE, guild_id=GUILD_ID)
    assert (await inter.response()).type == 9
    submitted = await emu.submit_modal(inter, {"fb:text": "great picks"})
    assert (await submitted.response()).content == "thanks: great picks"
    assert emu.violations == []


async def test_bot_edits_its_channel_message(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, _ = env
    await emu.send_dm(ALICE, "please edit")
    sent = await emu.next_dm(ALICE)
    assert sent.content == "dm: please edit"  # a snapshot as first sent
    await emu.wait_until(lambda: emu.message(sent).content == "edited", 5, "the edit")
    assert "| ** Now with embed **" in emu.message(sent).text
    assert emu.violations == []


async def test_content_over_2000_is_rejected(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    inter = await emu.slash("long", user_id=ALICE, guild_id=GUILD_ID)
    await emu.wait_until(lambda: bot.errors, 5, "the bot's error")
    assert bot.errors[0].status == 400 and bot.errors[0].code == 50035  # type: ignore[attr-defined]
    assert any("content" in p and "2001" in p for p in emu.violations)
    assert not inter.acknowledged


async def test_26_autocomplete_choices_rejected(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    choices = await emu.autocomplete(
        "rate", {"movie": "many"}, focused="movie", user_id=ALICE, guild_id=GUILD_ID
    )
    assert choices == []  # the tree's fallback answer after the rejected one
    assert bot.errors and bot.errors[0].status == 400  # type: ignore[attr-defined]
    assert any("at most 25 choices" in p for p in emu.violations)


async def test_101_char_custom_id_rejected(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    await emu.slash("badbutton", user_id=ALICE, guild_id=GUILD_ID)
    await emu.wait_until(lambda: bot.errors, 5, "the bot's error")
    assert bot.errors[0].code == 50035  # type: ignore[attr-defined]
    assert any("custom_id" in p and "101" in p for p in emu.violations)


async def test_three_second_deadline(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    emu.response_deadline = 0.2
    inter = await emu.slash("late", user_id=ALICE, guild_id=GUILD_ID)
    await emu.wait_until(lambda: bot.errors, 5, "the bot's error")
    assert isinstance(bot.errors[0], discord.NotFound) and bot.errors[0].code == 10062
    assert not inter.acknowledged and inter.first_response_ms is None
    assert any("first response after" in p for p in emu.violations)


async def test_double_acknowledgement(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    inter = await emu.slash("twice", user_id=ALICE, guild_id=GUILD_ID)
    assert (await inter.response()).content == "one"
    await emu.wait_until(lambda: bot.errors, 5, "the bot's error")
    assert bot.errors[0].code == 40060  # type: ignore[attr-defined]
    assert any("already been acknowledged" in p for p in emu.violations)


def _in(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def test_scheduled_events_by_discords_rules(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    voice = guild.get_channel(emu.state.guilds[GUILD_ID].voice_channel_id)
    assert isinstance(voice, discord.VoiceChannel)
    kwargs = {"privacy_level": discord.PrivacyLevel.guild_only, "start_time": _in(2)}
    with pytest.raises(discord.Forbidden) as refused:  # @everyone lacks Create Events
        await guild.create_scheduled_event(name="Alien", channel=voice, **kwargs)  # type: ignore[call-overload]
    assert refused.value.code == 50013 and emu.state.guilds[GUILD_ID].scheduled_events == {}
    assert any("Missing Permissions" in p for p in emu.violations)
    emu.state.violations.clear()
    emu.grant(GUILD_ID, emu.bot_user_id, CREATE_EVENTS)
    event = await guild.create_scheduled_event(name="Alien", channel=voice, **kwargs)  # type: ignore[call-overload]
    assert event.entity_type == discord.EntityType.voice and event.channel_id == voice.id
    assert event.status == discord.EventStatus.scheduled and event.creator_id == bot.user.id  # type: ignore[union-attr]
    await emu.wait_until(lambda: guild.get_scheduled_event(event.id), 5, "the create event")
    assert ("create", event.id) in bot.event_news

    emu.mark_interested(GUILD_ID, event.id, BOB)
    emu.mark_interested(GUILD_ID, event.id, ALICE)
    emu.mark_interested(GUILD_ID, event.id, ALICE)  # twice is still once
    emu.unmark_interested(GUILD_ID, event.id, BOB)
    sent = [text for _, text in emu.gateway.history if "GUILD_SCHEDULED_EVENT_USER" in text]
    assert [json.loads(t)["t"] for t in sent] == [
        "GUILD_SCHEDULED_EVENT_USER_ADD",
        "GUILD_SCHEDULED_EVENT_USER_ADD",
        "GUILD_SCHEDULED_EVENT_USER_REMOVE",
    ]
    assert json.loads(sent[1])["d"] == {
        "guild_scheduled_event_id": str(event.id),
        "user_id": str(ALICE),
        "guild_id": str(GUILD_ID),
    }
    emu.mark_interested(GUILD_ID, event.id, BOB)
    assert [u.id async for u in event.users()] == sorted([ALICE, BOB])  # ascending by id
    fetched = await guild.fetch_scheduled_event(event.id, with_counts=True)
    assert fetched.user_count == 2

    started = await event.start()
    assert started.status == discord.EventStatus.active
    with pytest.raises(discord.HTTPException) as bad:  # an active event cannot be canceled
        await bot.http.edit_scheduled_event(GUILD_ID, event.id, status=4)
    assert bad.value.status == 400 and "cannot go from 2 to 4" in str(emu.violations)
    ended = await started.end()
    assert ended.status == discord.EventStatus.completed
    with pytest.raises(discord.HTTPException) as over:
        await ended.edit(name="Aliens")
    assert over.value.code == 180000
    with pytest.raises(ValueError, match="over"):
        emu.mark_interested(GUILD_ID, event.id, BOB)
    await emu.wait_until(lambda: ("status 3", event.id) in bot.event_news, 5, "the update")
    await ended.delete()
    await emu.wait_until(lambda: ("delete", event.id) in bot.event_news, 5, "the delete")
    emu.state.violations.clear()


async def test_scheduled_event_payloads_are_checked(env: tuple[DiscordEmulator, TestBot]) -> None:
    emu, bot = env
    emu.grant(GUILD_ID, emu.bot_user_id, CREATE_EVENTS)
    text = emu.state.guilds[GUILD_ID].text_channel_id
    start, end = _in(2).isoformat(), _in(4).isoformat()
    good = {"name": "Heat", "privacy_level": 2, "scheduled_start_time": start}
    cases = [
        (
            {**good, "entity_type": 3, "entity_metadata": {"location": "Sofa"}},
            "required for EXTERNAL",
        ),
        ({**good, "entity_type": 3, "scheduled_end_time": end}, "location: required"),
        ({**good, "entity_type": 2, "channel_id": str(text)}, "must be a voice channel"),
        ({**good, "entity_type": 2}, "channel_id: required"),
        ({**good, "entity_type": 3, "privacy_level": 1}, "GUILD_ONLY"),
        ({**good, "scheduled_start_time": _in(-1).isoformat(), "entity_type": 3}, "in the past"),
        ({**good, "name": "n" * 101, "entity_type": 3}, "name: length must be 1..100"),
    ]
    for payload, says in cases:
        with pytest.raises(discord.HTTPException) as refused:
            await bot.http.create_guild_scheduled_event(GUILD_ID, **payload)
        assert refused.value.status == 400 and refused.value.code == 50035
        assert any(says in p for p in emu.violations), (says, emu.violations)
    emu.state.violations.clear()
    external = {
        **good,
        "entity_type": 3,
        "entity_metadata": {"location": "Sofa"},
        "scheduled_end_time": end,
    }
    made = await bot.http.create_guild_scheduled_event(GUILD_ID, **external)
    assert made["entity_metadata"] == {"location": "Sofa"} and made["channel_id"] is None
    assert emu.violations == []


def test_validate_scheduled_event_rules() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    later = "2025-01-02T20:00:00+00:00"
    stage = {
        "name": "Heat",
        "privacy_level": 2,
        "scheduled_start_time": later,
        "entity_type": 1,
        "channel_id": "5",
    }
    assert v.validate_scheduled_event(stage, channel_types={5: 13}, now=now) == []
    assert v.validate_scheduled_event(stage, channel_types={5: 2}, now=now)  # a voice channel
    with_metadata = {**stage, "entity_metadata": {"location": "x"}}
    assert v.validate_scheduled_event(with_metadata, channel_types={5: 13}, now=now)
    backwards = {**stage, "scheduled_end_time": "2025-01-02T19:00:00+00:00"}
    assert "after" in str(v.validate_scheduled_event(backwards, channel_types={5: 13}, now=now))
    naive = {**stage, "scheduled_start_time": "2025-01-02T20:00:00"}
    assert v.validate_scheduled_event(naive, channel_types={5: 13}, now=now)
    unchanged = {**stage, "scheduled_start_time": "2024-12-31T20:00:00+00:00"}
    assert (
        v.validate_scheduled_event(unchanged, channel_types={5: 13}, now=now, start_changed=False)
        == []
    )
    long = {**stage, "description": "d" * 1001}
    assert v.validate_scheduled_event(long, channel_types={5: 13}, now=now)
    assert v.event_status_problem(1, 2) is None and v.event_status_problem(1, 4) is None
    assert v.event_status_problem(2, 3) is None
    assert v.event_status_problem(1, 3) and v.event_status_problem(3, 2)
    assert v.event_status_problem(4, 1) and v.event_status_problem(1, 9)


async def test_unknown_route_is_logged_404() -> None:
    async with DiscordEmulator() as emu, aiohttp.ClientSession() as session:
        url = emu.api_base + "/guilds/1/bans"
        async with session.get(url, headers={"Authorization": "Bot x"}) as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with session.get(emu.api_base + "/users/@me") as resp:
            assert resp.status == 401
    assert emu.unknown_routes == ["GET /api/v10/guilds/1/bans"]


def test_render_message() -> None:
    text = render_message(
        {
            "content": "Top picks",
            "embeds": [
                {
                    "title": "Alien",
                    "description": "1979",
                    "fields": [{"name": "Score", "value": "4.5"}],
                    "footer": {"text": "ALS"},
                }
            ],
            "components": [
                {"type": 1, "components": [{"type": 2, "label": "Rate", "custom_id": "r"}]},
                {
                    "type": 1,
                    "components": [
                        {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]}
                    ],
                },
            ],
        }
    )
    assert text.splitlines() == [
        "Top picks",
        "| ** Alien **",
        "| 1979",
        "| Score: 4.5",
        "| -- ALS",
        "[Rate]",
        "<select: A>",
    ]


# --- validate.py units --------------------------------------------------------------------------


def _cmd(**overrides: object) -> dict:
    return {"name": "rate", "description": "Rate a movie", "type": 1, **overrides}


def test_validate_command_names_and_descriptions() -> None:
    assert v.validate_command(_cmd()) == []
    assert v.validate_command(_cmd(name="movie-night_2")) == []
    assert v.validate_command(_cmd(name="Rate"))  # uppercase
    assert v.validate_command(_cmd(name="rate movie"))  # space
    assert v.validate_command(_cmd(name="r" * 33))
    assert v.validate_command(_cmd(description=""))
    assert v.validate_command(_cmd(description="d" * 101))
    assert v.validate_command({"name": "Rate This", "type": 2, "description": ""}) == []


def test_validate_command_options_and_choices() -> None:
    opt = {"name": "o", "description": "d", "type": 3}
    assert v.validate_command(_cmd(options=[opt] * 1)) == []
    many = [{**opt, "name": f"o{i}"} for i in range(26)]
    assert any("at most 25 options" in p for p in v.validate_command(_cmd(options=many)))
    choices = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)]
    assert v.validate_command(_cmd(options=[{**opt, "choices": choices}]))
    assert v.validate_command(_cmd(options=[{**opt, "choices": choices[:25]}])) == []
    late_required = [opt, {**opt, "name": "p", "required": True}]
    assert v.validate_command(_cmd(options=late_required))
    assert v.validate_commands([_cmd(), _cmd()])  # duplicate names


def test_validate_autocomplete_limits() -> None:
    ok = [{"name": "Alien", "value": "1"}]
    assert v.validate_autocomplete(ok, 3) == []
    assert v.validate_autocomplete(ok * 26, 3)
    assert v.validate_autocomplete([{"name": "", "value": "1"}], 3)
    assert v.validate_autocomplete([{"name": "n" * 101, "value": "1"}], 3)
    assert v.validate_autocomplete([{"name": "a", "value": "v" * 101}], 3)
    assert v.validate_autocomplete([{"name": "a", "value": "1"}], 4)  # string for integer
    assert v.validate_autocomplete([{"name": "a", "value": 7}], 4) == []


def test_validate_message_content_and_embeds() -> None:
    assert v.validate_message({"content": "x" * 2000}) == []
    assert v.validate_message({"content": "x" * 2001})
    assert v.validate_message({}) == ["content: cannot send an empty message"]
    assert v.validate_message({}, creating=False) == []
    assert v.validate_message({"embeds": [{"title": "t" * 257}]})
    assert v.validate_message({"embeds": [{"description": "d" * 4097}]})
    assert v.validate_message({"embeds": [{"footer": {"text": "f" * 2049}}]})
    assert v.validate_message({"embeds": [{"author": {"name": "a" * 257}}]})
    fields = [{"name": "n", "value": "v"}] * 26
    assert v.validate_message({"embeds": [{"fields": fields}]})
    assert v.validate_message({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]})
    assert v.validate_message({"embeds": [{"title": "t"}] * 11})
    big = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    assert any("total" in p for p in v.validate_message({"embeds": big}))


def _button(custom_id: str = "b", label: str = "B") -> dict:
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label}


def test_validate_components() -> None:
    row = {"type": 1, "components": [_button(f"b{i}") for i in range(5)]}
    assert v.validate_components([row]) == []
    assert v.validate_components([{"type": 1, "components": [_button(f"b{i}") for i in range(6)]}])
    rows = [{"type": 1, "components": [_button(f"r{r}")]} for r in range(6)]
    assert v.validate_components(rows)
    assert v.validate_components([{"type": 1, "components": [_button("x" * 101)]}])
    assert v.validate_components([{"type": 1, "components": [_button(label="l" * 81)]}])
    assert v.validate_components([{"type": 1, "components": [_button("a"), _button("a")]}])
    select = {"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]}
    assert v.validate_components([{"type": 1, "components": [select]}]) == []
    assert v.validate_components([{"type": 1, "components": [select, _button()]}])
    options = [{"label": f"o{i}", "value": f"o{i}"} for i in range(26)]
    assert v.validate_components([{"type": 1, "components": [{**select, "options": options}]}])


def test_validate_callback_types() -> None:
    assert v.validate_callback({"type": 4, "data": {"content": "hi"}}, 2) == []
    assert v.validate_callback({"type": 7, "data": {"content": "hi"}}, 2)  # update needs component
    assert v.validate_callback({"type": 8, "data": {"choices": []}}, 4) == []
    assert v.validate_callback({"type": 4, "data": {"content": "hi"}}, 4)
    modal = {"custom_id": "m", "title": "t" * 46, "components": [{"type": 1, "components": []}]}
    assert v.validate_callback({"type": 9, "data": modal}, 2)
