"""The shape docs/architecture.md describes, checked: stages import only from themselves or
stages before them, and no function is longer than 80 lines outside declarative builders."""
import ast

from conftest import ROOT

BOT = ROOT / "bot"
#: Pipeline order; a module may import from its own stage or an earlier one.
ORDER = ["base", "corpus", "index", "retrieval", "understand", "compose", "chat", "surface"]
BASE = {"settings", "errors", "text", "timing", "progress", "rule_files"}
SURFACE = {"tools", "page", "__main__", "__init__"}
#: Late imports up the pipeline, each for a reason: the settings check reads the table of
#: retrieval methods, so a method is defined in one place.
ALLOWED_UP = {("settings.py", "retrieval.search")}
#: Declarative builders, long by nature: one line per option or page element.
BUILDERS = {("page.py", "build_page"), ("__main__.py", "build_parser")}


def stage_of(parts: tuple[str, ...]) -> str:
    head = parts[0].removesuffix(".py")
    if head in BASE:
        return "base"
    if head in SURFACE:
        return "surface"
    return head


def imported(path, tree):
    """bot-relative module paths imported by a module (relative imports resolved)."""
    package = path.relative_to(BOT).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = (*base, *(node.module.split(".") if node.module else ()))
            for alias in node.names if not node.module else [None]:
                yield target + ((alias.name,) if alias else ())
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot."):
            yield tuple(node.module.split(".")[1:])


def test_stages_import_only_from_earlier_stages():
    wrong = []
    for path in BOT.rglob("*.py"):
        mine = stage_of(path.relative_to(BOT).parts)
        for target in imported(path, ast.parse(path.read_text(encoding="utf-8"))):
            if target and target[0] in ORDER[1:] + ["settings", "errors", "text", "timing", "progress", "rule_files", "chat"] + list(SURFACE):
                theirs = stage_of(target)
                if ORDER.index(theirs) > ORDER.index(mine) and (path.name, ".".join(target)) not in ALLOWED_UP:
                    wrong.append(f"{path.relative_to(BOT)} imports {'.'.join(target)}")
    assert wrong == []


def test_no_function_is_over_80_lines():
    long = []
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                if (path.name, node.name) not in BUILDERS:
                    long.append(f"{path.relative_to(BOT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []
