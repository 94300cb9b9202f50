"""The layers import only downwards: `handlers → services → db` (`bot/` wires everything).

Read from the source with `ast`, nothing is imported: every `import` and `from … import`
anywhere in a module counts (inside functions and `if TYPE_CHECKING:` blocks too).

- `services` never imports aiogram, `bot` or `handlers` (a web or REST front reuses it as is);
- `db` imports nothing of ours (`bot`, `handlers`, `services`);
- `handlers` import nothing of `db` but its enums (`db.enums`): queries and models stay in
  services;
- `services.core` (the shared rules) imports no other area of `services`: every area builds
  on it, never the other way round.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("bot", "handlers", "services", "db")

#: layer → (what it must not import, why)
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "services": (("aiogram", "bot", "handlers"), "services never import aiogram, bot or handlers"),
    "db": (("bot", "handlers", "services"), "db imports nothing of ours"),
    "handlers": (("db",), "handlers import db only for db.enums"),
    "services.core": (("services",), "services.core builds on no other area of services"),
}
ALLOWED = {"handlers": ("db.enums",), "services.core": ("services.core",)}

#: Violations the tree has today, each to be removed with its fix (the test fails once one is
#: fixed, so the list only shrinks). None left: handlers read the clock from services.core.
KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, *, is_package: bool = False) -> Iterator[str]:
    """The dotted name of everything `module`'s source imports: `import a.b` gives `a.b`,
    `from a import x` gives `a.x` (x a submodule or a name in it); relative imports are
    resolved against `module`'s package."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}".strip(".")
            for alias in node.names:
                yield base if alias.name == "*" else f"{base}.{alias.name}".strip(".")


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path = ROOT) -> set[tuple[str, str]]:
    """(module, imported module) for every import that breaks a rule."""
    found: set[tuple[str, str]] = set()
    for layer, (forbidden, _rule) in RULES.items():
        allowed = ALLOWED.get(layer, ())
        for path in sorted(root.joinpath(*layer.split(".")).rglob("*.py")):
            module = module_name(path, root)
            source = path.read_text(encoding="utf-8")
            for name in imported(source, module, is_package=path.name == "__init__.py"):
                if any(within(name, bad) for bad in forbidden) and not any(
                    within(name, ok) for ok in allowed
                ):
                    found.add((module, _module_part(name, root)))
    return found


def _module_part(name: str, root: Path) -> str:
    """The longest leading part of `name` that is a module of the tree (`db.base.utcnow` →
    `db.base`); `name` itself for what is not ours."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts[:end])
    return name


def _rule_of(module: str) -> str:
    """The rule of the innermost layer `module` belongs to."""
    layer = max((name for name in RULES if within(module, name)), key=len)
    return RULES[layer][1]


def test_every_layer_exists() -> None:
    for layer in LAYERS:
        assert (ROOT / layer / "__init__.py").is_file() or any((ROOT / layer).glob("*.py"))


def test_imports_go_only_downwards() -> None:
    found = violations()
    new = sorted(found - KNOWN)
    assert not new, "layering broken:\n" + "\n".join(
        f"  {module} imports {name}: {_rule_of(module)}" for module, name in new
    )


def test_known_violations_are_still_there() -> None:
    """A fixed violation leaves the list, so the list can only shrink."""
    fixed = sorted(KNOWN - violations())
    assert not fixed, f"fixed, remove from KNOWN: {fixed}"


@pytest.mark.parametrize(
    ("layer", "source", "bad"),
    [
        ("services", "import aiogram\n", "aiogram"),
        ("services", "def f():\n    from aiogram.types import Message\n", "aiogram.types"),
        ("services", "from bot.rendering import Renderer\n", "bot.rendering"),
        ("services", "from handlers import journal\n", "handlers"),
        ("services", "if TYPE_CHECKING:\n    import handlers.journal\n", "handlers.journal"),
        ("db", "from services.core.audit import AuditAction\n", "services.core.audit"),
        ("db", "from bot import config\n", "bot"),
        ("db", "from .. import services\n", "services"),
        ("handlers", "from db.models import Grade\n", "db.models"),
        ("handlers", "from db import models\n", "db"),
        ("handlers", "import db.base\n", "db.base"),
    ],
)
def test_a_planted_import_is_caught(tmp_path: Path, layer: str, source: str, bad: str) -> None:
    """The checker itself: a module that breaks a rule is reported."""
    found = violations(_tree(tmp_path, f"{layer}/planted.py", source))
    assert {module for module, _name in found} == {f"{layer}.planted"}
    assert all(within(name, bad) or within(bad, name) for _module, name in found)


@pytest.mark.parametrize(
    "source",
    ["from db.enums import CodeKind\n", "from db import enums\n", "import db.enums\n"],
)
def test_handlers_may_use_the_enums(tmp_path: Path, source: str) -> None:
    assert violations(_tree(tmp_path, "handlers/fine.py", source)) == set()


def _tree(root: Path, path: str, source: str) -> Path:
    """An empty tree of the four layers (and `db.enums`) plus one module."""
    for name in LAYERS:
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
    (root / "db" / "enums.py").write_text("")
    (root / path).write_text(source)
    return root


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from services.notify import enqueue\n", True),
        ("from services import journal\n", True),
        ("from services.core.errors import DomainError\n", False),
        ("from . import errors\n", False),
    ],
)
def test_core_builds_on_no_other_area(tmp_path: Path, source: str, caught: bool) -> None:
    root = _tree(tmp_path, "services/planted.py", "")
    (root / "services" / "core").mkdir()
    (root / "services" / "core" / "__init__.py").write_text("")
    (root / "services" / "core" / "planted.py").write_text(source)
    found = violations(root)
    assert ({module for module, _name in found} == {"services.core.planted"}) is caught
