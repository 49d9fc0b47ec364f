"""Typo-tolerant movie title search over a catalog, built on rapidfuzz."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from recommender.data import Catalog

MAX_QUERY = 200
_ARTICLES = (
    "the", "a", "an", "la", "le", "les", "l'", "il", "el", "los", "las", "der", "die", "das",
    "den", "det", "lo", "un", "une", "i", "gli", "o", "os", "as",
)  # fmt: skip
_ARTICLE_ALT = "|".join(re.escape(a) for a in _ARTICLES)
_TRAILING_ARTICLE = re.compile(rf"^(.*),\s*({_ARTICLE_ALT})$", re.I)
_WORD_ARTICLES = "|".join(re.escape(a) for a in _ARTICLES if not a.endswith("'"))
_LEADING_ARTICLE = re.compile(rf"^\s*(?:l'|(?:{_WORD_ARTICLES})\s+)", re.I)
_PAREN = re.compile(r"\(([^()]*)\)")
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_QUERY_YEAR = re.compile(r"(?:^|\s|\()((?:18|19|20)\d{2})\)?\s*$")
_ROMAN = {"ii": "2", "iii": "3", "iv": "4"}
PREFILTER = 400  # names scored with the full fuzzy scorer after the trigram prefilter
FULL_NAME_RATIO = 80  # a confident match spells out a whole name, typos aside
_AKA = re.compile(r"^(?:a\.k\.a\.|aka)\s+", re.I)
WORD_MATCH = 0.75  # a word matches with one typo in four letters ("alein" ~ "alien")


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, collapse spaces: "Misérables" -> "miserables"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = utils.default_process(stripped.replace("&", " and ").replace("'", "")).split()
    return " ".join(_ROMAN.get(w, w) for w in words)


def _trigrams(name: str) -> set[str]:
    padded = f" {name} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _front_article(name: str) -> str:
    """ "Usual Suspects, The" -> "The Usual Suspects"."""
    m = _TRAILING_ARTICLE.match(name.strip())
    if not m:
        return name.strip()
    article = m.group(2)
    sep = "" if article.endswith("'") else " "
    return f"{article}{sep}{m.group(1).strip()}"


def title_variants(title: str) -> list[str]:
    """Normalized names a title answers to: main name, article forms, parenthesized aliases."""
    base = _YEAR_SUFFIX.sub("", title).strip()
    names = [_PAREN.sub("", base).strip()]
    names += [_AKA.sub("", alt).strip() for alt in _PAREN.findall(base)]
    out: list[str] = []
    for name in names:
        if not name:
            continue
        fronted = _front_article(name)
        for variant in (fronted, _TRAILING_ARTICLE.sub(r"\1", name.strip())):
            norm = normalize(variant)
            if norm and norm not in out:
                out.append(norm)
    return out


@dataclass(frozen=True)
class TitleMatch:
    """One search candidate; score is 0..100+ (bonuses for exact names and years)."""

    movie_id: int
    title: str
    year: int | None
    score: float


@dataclass(frozen=True)
class Resolution:
    """A confident single movie, or the candidates to ask the user about."""

    movie: TitleMatch | None
    candidates: list[TitleMatch]


class TitleIndex:
    """Built once per catalog; `search` ranks candidates, `resolve` picks one when sure."""

    def __init__(self, catalog: Catalog, popularity: np.ndarray | None = None) -> None:
        self.catalog = catalog
        names: list[str] = []
        rows: list[int] = []
        for row, title in enumerate(catalog.titles):
            for variant in title_variants(title):
                names.append(variant)
                rows.append(row)
        self._names = names
        self._rows = np.asarray(rows, dtype=np.int64)
        self._build_trigrams()
        pop = np.zeros(len(catalog)) if popularity is None else np.asarray(popularity, float)
        if len(pop) != len(catalog):
            raise ValueError("popularity must have one value per catalog row")
        self._pop_bonus = 3.0 * np.log1p(pop) / max(1.0, float(np.log1p(pop.max(initial=0))))
        self._most_popular = np.argsort(-self._pop_bonus, kind="stable")[:25]

    def _build_trigrams(self) -> None:
        """Inverted index trigram -> name positions, as CSR arrays, for a fast prefilter."""
        postings: dict[str, list[int]] = {}
        for pos, name in enumerate(self._names):
            for gram in _trigrams(name):
                postings.setdefault(gram, []).append(pos)
        self._gram_ids = {g: k for k, g in enumerate(postings)}
        lists = list(postings.values())
        self._gram_ptr = np.cumsum([0] + [len(p) for p in lists]).astype(np.int64)
        flat = [p for plist in lists for p in plist]
        self._gram_pos = np.asarray(flat, dtype=np.int32)
        self._name_grams = np.array([len(_trigrams(n)) for n in self._names], dtype=np.float32)

    def _prefilter(self, q: str) -> list[int]:
        """Positions of the names sharing the most trigrams with the query (Dice overlap)."""
        ids = [self._gram_ids[g] for g in _trigrams(q) if g in self._gram_ids]
        if not ids:
            return []
        parts = [self._gram_pos[self._gram_ptr[i] : self._gram_ptr[i + 1]] for i in ids]
        shared = np.bincount(np.concatenate(parts), minlength=len(self._names)).astype(np.float32)
        dice = shared / (self._name_grams + len(_trigrams(q)))
        hit = np.flatnonzero(shared)
        if len(hit) > PREFILTER:
            hit = hit[np.argpartition(-dice[hit], PREFILTER - 1)[:PREFILTER]]
        return hit.tolist()

    def __len__(self) -> int:
        return len(self.catalog)

    def search(self, query: str, limit: int = 10) -> list[TitleMatch]:
        """Ranked candidates for free text such as "the usual suspects" or "hamlet 1996"."""
        if not isinstance(query, str) or limit <= 0:
            return []
        text, year = _split_year(query[:MAX_QUERY])
        best: dict[int, float] = {}
        for q in _query_forms(text):
            pool = self._prefilter(q)
            choices = {pos: self._names[pos] for pos in pool}
            hits = process.extract(
                q, choices, scorer=fuzz.WRatio, limit=max(50, limit * 5), score_cutoff=60
            )
            for name, score, pos in hits:
                row = int(self._rows[pos])
                score = float(score)
                if name == q:
                    score += 10.0
                elif name.startswith(q + " ") or q.startswith(name + " "):
                    score += 3.0
                if year is not None:
                    score += 8.0 if int(self.catalog.years[row]) == year else -10.0
                score += float(self._pop_bonus[row])
                if score > best.get(row, -1.0):
                    best[row] = score
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
        return [self._match(row, score) for row, score in ranked]

    def _match(self, row: int, score: float) -> TitleMatch:
        year = int(self.catalog.years[row])
        movie_id = int(self.catalog.movie_ids[row])
        return TitleMatch(movie_id, self.catalog.titles[row], year or None, round(score, 1))

    def resolve(self, query: str, limit: int = 5) -> Resolution:
        """One movie when the best match is strong, clearly ahead and names the whole title
        (typos aside); else the candidates, so a fragment like "everyone" is asked about."""
        candidates = self.search(query, limit)
        if not candidates:
            return Resolution(None, [])
        top = candidates[0]
        runner = candidates[1].score if len(candidates) > 1 else 0.0
        ahead = (top.score >= 95 and top.score - runner >= 6) or (
            top.score >= 88 and top.score - runner >= 12
        )
        if ahead and self._covers(query, top.movie_id):
            return Resolution(top, candidates)
        return Resolution(None, candidates)

    def _covers(self, query: str, movie_id: int) -> bool:
        """Whether the query spells out one of the movie's names, not just a part of it."""
        q = normalize(_split_year(query[:MAX_QUERY])[0])
        row = int(np.flatnonzero(self.catalog.movie_ids == movie_id)[0])
        names = [self._names[p] for p in np.flatnonzero(self._rows == row)]
        return any(fuzz.ratio(q, name) >= FULL_NAME_RATIO for name in names)

    def autocomplete(self, query: str, limit: int = 25) -> list[tuple[str, int]]:
        """(label, movie id) pairs for Discord: at most 25, labels at most 100 characters."""
        if not query or not query.strip():
            rows = self._most_popular[: min(limit, 25)]
            matches = [self._match(int(r), 0.0) for r in rows]
        else:
            matches = self.search(query, min(limit, 25))
        return [(_label(m.title), m.movie_id) for m in matches]


def names_every_word(query: str, title: str) -> bool:
    """Whether every word of the query is a word of one of the title's names, typos aside:
    "shawshank" names The Shawshank Redemption; "how are you" does not name While You Were
    Sleeping, however high the fuzzy search scores it."""
    words = normalize(_split_year(query[:MAX_QUERY])[0]).split()
    if not words:
        return False
    for name in title_variants(title):
        known = name.split()
        if all(any(OSA.normalized_similarity(w, k) >= WORD_MATCH for k in known) for w in words):
            return True
    return False


def names_a_movie(query: str, found: Resolution) -> bool:
    """Whether free text without stars is a movie title: a confident match, or a best candidate
    that has every word of it (a typo or part of a title, not a fuzzy echo of chatter)."""
    if found.movie is not None:
        return True
    return bool(found.candidates) and names_every_word(query, found.candidates[0].title)


def _label(title: str) -> str:
    return title if len(title) <= 100 else title[:99] + "…"


def _query_forms(text: str) -> list[str]:
    """The normalized query, plus it without a leading article ("the naked gun" -> "naked gun"),
    since MovieLens moves articles to the end of a name or drops them."""
    forms = [normalize(text)] if normalize(text) else []
    stripped = _LEADING_ARTICLE.sub("", text, count=1)
    if stripped != text and normalize(stripped) and normalize(stripped) not in forms:
        forms.append(normalize(stripped))
    return forms


def _split_year(query: str) -> tuple[str, int | None]:
    """Split a trailing year off a query ("hamlet 1996"), unless the year is the whole query."""
    m = _QUERY_YEAR.search(query.strip())
    if not m:
        return query, None
    rest = query.strip()[: m.start()].strip(" (")
    if not normalize(rest):
        return query, None
    return rest, int(m.group(1))
