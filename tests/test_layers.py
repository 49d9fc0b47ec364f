"""Dependencies point one way: discord layer → services → store/recommender/TMDB client;
the emulator stands alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    """Every absolute module each file of a package imports (relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: -node.level]
                    names.add(".".join([*base, node.module] if node.module else base))
                else:
                    names.add(node.module or "")
        found[module] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} imports {name}"
        for module, names in imports_of(package).items()
        for name in sorted(names)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("recommender", ("bot", "discord", "asyncio", "aiosqlite")),
        ("bot.core", ("discord", "bot.discord", "bot.emulator", "bot.app")),
        ("bot.store", ("discord", "bot.core", "bot.discord", "bot.emulator", "recommender")),
        ("bot.emulator", ("bot.core", "bot.store", "bot.discord", "bot.app", "recommender")),
        ("bot.discord", ("bot.emulator", "bot.app")),
        ("bot.tmdb", ("discord", "bot.core", "bot.discord", "bot.store", "bot.emulator")),
    ],
)
def test_layers_import_only_downward(package: str, forbidden: tuple[str, ...]):
    assert imports_of(package), f"no modules found in {package}"
    assert offenders(package, forbidden) == []


def test_cogs_never_import_each_other():
    cogs = {m for m in imports_of("bot.discord.cogs") if not m.endswith("__init__")}
    assert len(cogs) == 9
    assert [
        f"{m} imports {n}" for m in cogs for n in imports_of("bot.discord.cogs")[m] & cogs
    ] == []
