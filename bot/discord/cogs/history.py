"""/import and /export: bring a Letterboxd or IMDb history in, take yours out."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.history import ImportPlan, Progress, Unsure
from bot.core.history_files import LIMITS_TEXT, HistoryFileError, check_upload_size
from bot.core.ratings import ImportResult
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.render import COLOR
from bot.discord.text import clip, plural
from bot.discord.views import OwnedView

log = logging.getLogger(__name__)

PROGRESS_ROWS = 2_000  # files this long get a progress message while they are matched
PROGRESS_EVERY = 1.0  # seconds between progress edits
REVIEW_PAGE = 4  # unsure rows per review page (one button row each, plus navigation)
SHOWN_UNKNOWN = 5
Action = Callable[[Interaction], Awaitable[None]]
LIST_WORDS = {"seen": "seen", "watchlist": "on your watchlist", "not_interested": "not interested"}


def summary_embed(plan: ImportPlan, covers: str) -> discord.Embed:
    """What an import would do, before anything is saved."""
    file = plan.file
    counts = plan.counts()
    inside = f" ({', '.join(file.files)})" if file.files else ""
    lines = [f"Read {file.upload}{inside}: {plural(len(file.rows), 'row')}."]
    rated = f"✅ **{plural(counts['new'], 'new rating')}**"
    extra = []
    if counts["changed"]:
        extra.append(f"{counts['changed']} changed since your last import")
    if counts["same"]:
        extra.append(f"{counts['same']} already here")
    lines.append(rated + (f" ({', '.join(extra)})" if extra else ""))
    listed = [f"**{counts[k]}** {w}" for k, w in LIST_WORDS.items() if counts.get(k)]
    if listed:
        lines.append("📋 " + " · ".join(listed))
    if plan.unsure:
        accepted = sum(1 for u in plan.unsure if u.choice is not None)
        lines.append(
            f"❓ **{len(plan.unsure)} unsure** ({accepted} accepted): press “Review unsure”; "
            "those you don't accept are skipped."
        )
    if plan.unknown:
        names = ", ".join(r.label for r in plan.unknown[:SHOWN_UNKNOWN])
        more = f" and {len(plan.unknown) - SHOWN_UNKNOWN} more" if len(plan.unknown) > 5 else ""
        lines.append(f"✖ **{len(plan.unknown)} not in the catalog** ({covers}): {names}{more}.")
        if plan.add_unknown:
            lines.append(
                f"   ➕ {min(plan.adds_left, len(plan.addable()))} will become club movies."
            )
    conflicts = plan.conflicts()
    if conflicts:
        choice = "the file's stars replace them" if plan.overwrite else "I keep yours"
        lines.append(
            f"⚠ **{plural(len(conflicts), 'movie')}** you rated here differently: {choice}."
        )
    if file.skipped:
        lines.append("Skipped: " + "; ".join(f"{n} {why}" for why, n in file.skipped.items()))
    lines.append("Nothing is saved until you press **Import**.")
    embed = discord.Embed(title=f"Import from {file.source}", colour=COLOR)
    embed.description = clip("\n".join(lines), 4096)
    embed.set_footer(text=f"Limits: {LIMITS_TEXT}.")
    return embed


def review_embed(plan: ImportPlan, page: int) -> discord.Embed:
    """One page of unsure matches: what the file says and the movie it may be."""
    pages = max(1, -(-len(plan.unsure) // REVIEW_PAGE))
    lines = []
    for k, item in enumerate(plan.unsure[page * REVIEW_PAGE : (page + 1) * REVIEW_PAGE], 1):
        guess = item.candidates[item.choice or 0].display
        stars = f" · {item.row.stars:g}★" if item.row.stars is not None else ""
        verdict = "✅ import" if item.choice is not None else "skip"
        lines.append(f"`{k}.` **{item.row.label}**{stars} in your file → {guess}? ({verdict})")
    embed = discord.Embed(title=f"Unsure matches · page {page + 1}/{pages}", colour=COLOR)
    embed.description = clip(
        "\n".join(lines) + "\n\nPress a movie to import it as that one; press again for the "
        "next guess or to skip it.",
        4096,
    )
    return embed


def result_text(source: str, result: ImportResult) -> str:
    """What a confirmed import wrote."""
    w = result.written
    if not w.changed and not w.listed and not w.club_movie_ids:
        text = f"Nothing changed: everything in this {source} file was already here."
    else:
        parts = [plural(w.added, "new rating")]
        if w.updated:
            parts.append(f"{w.updated} updated")
        if w.listed:
            parts.append(f"{w.listed:,} list {'entry' if w.listed == 1 else 'entries'}")
        if w.club_movie_ids:
            parts.append(f"{plural(len(w.club_movie_ids), 'movie')} added to the club's movies")
        text = f"Imported from {source}: {', '.join(parts)}."
    if w.kept:
        text += f" Kept {plural(w.kept, 'rating')} you gave here."
    text += f"\nYou have rated {plural(result.rated_count, 'movie')}."
    if w.changed:
        text += " Your `/recommend` picks use them already; `/myratings` lists them."
    return text


class ImportView(OwnedView):
    """The import summary's buttons, and the review pages for unsure matches."""

    def __init__(self, owner_id: int, plan: ImportPlan, covers: str) -> None:
        super().__init__(owner_id, timeout=900)
        self.plan, self.covers = plan, covers
        self.page: int | None = None  # None: the summary
        self.show()

    # ------------------------------------------------------------------ layout
    def show(self) -> None:
        """Rebuild the buttons for the summary or the current review page."""
        self.clear_items()
        if self.page is None:
            self._summary_buttons()
        else:
            self._review_buttons()

    @property
    def embed(self) -> discord.Embed:
        """The embed for what is shown now."""
        if self.page is None:
            return summary_embed(self.plan, self.covers)
        return review_embed(self.plan, self.page)

    def _button(
        self, label: str, style: discord.ButtonStyle, custom_id: str, action: Action, row: int
    ) -> discord.ui.Button:
        """Add a button calling `action` on a given row."""
        button: discord.ui.Button = discord.ui.Button(
            label=clip(label, 80), style=style, custom_id=custom_id, row=row
        )
        button.callback = action  # type: ignore[method-assign]
        self.add_item(button)
        return button

    def _summary_buttons(self) -> None:
        plan = self.plan
        changes = plan.changes
        label = f"Import {changes:,}" if changes else "Nothing new to import"
        ok = self._button(label, discord.ButtonStyle.success, "imp:go", self._import, 0)
        ok.disabled = changes == 0
        if plan.unsure:
            review = f"Review {len(plan.unsure)} unsure"
            self._button(review, discord.ButtonStyle.primary, "imp:review", self._review, 0)
        self._button("Cancel", discord.ButtonStyle.secondary, "imp:cancel", self._cancel, 0)
        conflicts = len(plan.conflicts())
        if conflicts:
            label = (
                f"Keep my {plural(conflicts, 'rating')} here"
                if plan.overwrite
                else f"Use the file's stars for {conflicts}"
            )
            self._button(label, discord.ButtonStyle.danger, "imp:overwrite", self._overwrite, 1)
        addable = min(plan.adds_left, len(plan.addable()))
        if addable:
            label = (
                "Don't add club movies"
                if plan.add_unknown
                else f"Add {addable} of {len(plan.unknown)} unknown as club movies"
            )
            self._button(label, discord.ButtonStyle.secondary, "imp:add", self._add, 1)

    def _review_buttons(self) -> None:
        page = self.page or 0
        items = self.plan.unsure[page * REVIEW_PAGE : (page + 1) * REVIEW_PAGE]
        for k, item in enumerate(items):
            guess = item.candidates[item.choice or 0].display
            accepted = item.choice is not None
            style = discord.ButtonStyle.success if accepted else discord.ButtonStyle.secondary
            label = f"{k + 1}. {'✓ ' if accepted else ''}{guess}"
            self._button(label, style, f"imp:u{k}", self._toggle(item), k)
        pages = -(-len(self.plan.unsure) // REVIEW_PAGE)
        nav = len(items)
        back = self._button("◀", discord.ButtonStyle.secondary, "imp:prev", self._prev, nav)
        back.disabled = page == 0
        self._button("Accept this page", discord.ButtonStyle.primary, "imp:all", self._all, nav)
        ahead = self._button("▶", discord.ButtonStyle.secondary, "imp:next", self._next, nav)
        ahead.disabled = page >= pages - 1
        self._button("Back to summary", discord.ButtonStyle.success, "imp:back", self._back, nav)
        if pages > 1:
            every = f"Accept all {len(self.plan.unsure)}"
            self._button(every, discord.ButtonStyle.secondary, "imp:every", self._every, nav)

    async def _redraw(self, interaction: Interaction) -> None:
        self.show()
        await interaction.response.edit_message(embed=self.embed, view=self)

    # ----------------------------------------------------------------- actions
    async def _import(self, interaction: Interaction) -> None:
        """Save what the summary shows, in one transaction."""
        self.stop()
        await interaction.response.defer()  # the button shows it is working meanwhile
        history = interaction.client.services.history
        result = await history.commit(self.plan)
        text = result_text(self.plan.file.source, result)
        await interaction.edit_original_response(content=text, embed=None, view=None)

    async def _cancel(self, interaction: Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled. Nothing was imported.", embed=None, view=None
        )

    async def _review(self, interaction: Interaction) -> None:
        self.page = 0
        await self._redraw(interaction)

    async def _back(self, interaction: Interaction) -> None:
        self.page = None
        await self._redraw(interaction)

    async def _prev(self, interaction: Interaction) -> None:
        self.page = max(0, (self.page or 0) - 1)
        await self._redraw(interaction)

    async def _next(self, interaction: Interaction) -> None:
        self.page = (self.page or 0) + 1
        await self._redraw(interaction)

    async def _all(self, interaction: Interaction) -> None:
        page = self.page or 0
        for item in self.plan.unsure[page * REVIEW_PAGE : (page + 1) * REVIEW_PAGE]:
            item.choice = item.choice or 0
        await self._redraw(interaction)

    async def _every(self, interaction: Interaction) -> None:
        for item in self.plan.unsure:
            item.choice = item.choice or 0
        await self._redraw(interaction)

    async def _overwrite(self, interaction: Interaction) -> None:
        self.plan.overwrite = not self.plan.overwrite
        await self._redraw(interaction)

    async def _add(self, interaction: Interaction) -> None:
        self.plan.add_unknown = not self.plan.add_unknown
        await self._redraw(interaction)

    def _toggle(self, item: Unsure) -> Action:
        async def toggle(interaction: Interaction) -> None:
            """Skipped → first guess → next guess … → skipped."""
            if item.choice is None:
                item.choice = 0
            elif item.choice + 1 < len(item.candidates):
                item.choice += 1
            else:
                item.choice = None
            await self._redraw(interaction)

        return toggle


class History(commands.Cog):
    """Your viewing history in and out."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.history = bot.services.history
        self.queries = bot.services.queries

    @app_commands.command(name="import")
    @app_commands.checks.cooldown(3, 60.0, key=per_user)
    async def import_(self, interaction: Interaction, file: discord.Attachment) -> None:
        """Import ratings, watched films and your watchlist from Letterboxd or IMDb.

        Args:
            file: Letterboxd's export .zip (or one of its CSVs), or IMDb's ratings export.
        """
        try:
            check_upload_size(file.size)
        except HistoryFileError as refused:
            await interaction.response.send_message(str(refused), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException:
            await interaction.edit_original_response(
                content="I couldn't download your file from Discord; please try again."
            )
            return
        try:
            history = await self.history.read(file.filename, data)
        except HistoryFileError as refused:
            log.info("refused an import: %s", refused)
            await interaction.edit_original_response(content=f"{refused}\nNothing was imported.")
            return
        progress = None
        if len(history.rows) >= PROGRESS_ROWS:
            progress = self._progress(interaction)
            await interaction.edit_original_response(
                content=f"Matching {len(history.rows):,} rows to movies…"
            )
        plan = await self.history.plan(interaction.user.id, history, progress)
        view = ImportView(interaction.user.id, plan, self.queries.catalog_summary())
        await interaction.edit_original_response(content=None, embed=view.embed, view=view)

    @staticmethod
    def _progress(interaction: Interaction) -> Progress:
        last = time.monotonic()

        async def progress(done: int, total: int) -> None:
            nonlocal last
            if done < total and time.monotonic() - last < PROGRESS_EVERY:
                return
            last = time.monotonic()
            await interaction.edit_original_response(
                content=f"Matching rows to movies… {done:,} of {total:,}"
            )

        return progress

    @app_commands.command(name="export")
    @app_commands.checks.cooldown(3, 60.0, key=per_user)
    async def export(self, interaction: Interaction) -> None:
        """Download your ratings, seen marks and watchlist as CSV (Letterboxd's import format)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        files = await self.history.export(interaction.user.id)
        if not files:
            await interaction.edit_original_response(
                content="You have nothing to export yet: no ratings, seen marks or watchlist."
            )
            return
        names = ", ".join(f"`{name}`" for name, _ in files)
        text = (
            f"Your history in Letterboxd's import format: {names}. Import them at "
            "letterboxd.com/import, or back here with `/import`. Only you can see this message."
        )
        attachments = [discord.File(io.BytesIO(data), filename=name) for name, data in files]
        await interaction.edit_original_response(content=text, attachments=attachments)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(History(bot))
