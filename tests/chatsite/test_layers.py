"""Imports run one way (docs/architecture.md, "Layers"): an import that runs back up fails here, by file, line and rule.

- the project shell (`chatsite/` outside `core/` and `server/`) may import anything;
- an app imports from chatsite only `chatsite.core`, and no other app;
- `chatsite.core` imports no app, nothing of `chatsite.server` and nothing of the shell;
- `chatsite.server` imports `chatsite.core` only: no app, nothing of the shell (the
  shell hands it what it needs of the apps).

Read from the source (every import statement, those inside functions too), so a module
need not be imported to be checked.
"""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("nameserver", "messaging", "signaling", "contacts")
SHELL, CORE, SERVER = "the project shell", "chatsite.core", "chatsite.server"

# An app that imports another app, with the reason: (importing file, imported module) -> why.
# Each entry is a documented dependency; an entry no import needs any more fails too.
CROSS_APP_IMPORTS = {}


def layer_of_module(name):
    """The layer of an importable name, or None for anything outside the project."""
    top = name.split(".")[0]
    if top in APPS:
        return top
    if top != "chatsite":
        return None
    if name == CORE or name.startswith(CORE + "."):
        return CORE
    if name == SERVER or name.startswith(SERVER + "."):
        return SERVER
    return SHELL


def layer_of_file(path):
    """The layer of a source file, by its path relative to the repository."""
    return layer_of_module(".".join(path.with_suffix("").parts))


def allowed(source, target):
    """Whether layer `source` may import layer `target`; the reason it may not otherwise."""
    if source in (target, SHELL):
        return True, ""
    if source in APPS:
        if target == CORE:
            return True, ""
        if target in APPS:
            return False, "an app imports no other app (unless listed in CROSS_APP_IMPORTS with its reason)"
        return False, "an app imports from chatsite only chatsite.core"
    if source == CORE:
        return False, "chatsite.core imports no app, nothing of chatsite.server and nothing of the project shell"
    if source == SERVER:
        if target == CORE:
            return True, ""
        return False, "chatsite.server imports chatsite.core only: no app, nothing of the project shell"
    raise AssertionError(f"unknown layer {source}")


def imported_names(tree, module):
    """(line, name) of each import in `tree`; a `from a import b` gives `a.b`, which may be a module."""
    package = module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def violations_in(path, source):
    """'file:line: rule' of each import in `source` (the text of repository file `path`) that runs back up."""
    module = ".".join(path.with_suffix("").parts)
    source_layer = layer_of_file(path)
    found = []
    for line, name in imported_names(ast.parse(source), module):
        target = layer_of_module(name)
        if target is None:
            continue
        ok, rule = allowed(source_layer, target)
        if not ok and (str(path), name.rpartition(".")[0]) not in CROSS_APP_IMPORTS:
            found.append(f"{path}:{line}: imports {name}; {rule}")
    return found


def project_files():
    for top in ("chatsite", *APPS):
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path.relative_to(ROOT)


def test_no_import_runs_back_up():
    found = [v for path in project_files() for v in violations_in(path, (ROOT / path).read_text())]
    assert not found, "imports that run back up (docs/architecture.md, Layers):\n" + "\n".join(found)


def test_every_cross_app_import_listed_is_still_made():
    made = {
        (str(path), name.rpartition(".")[0])
        for path in project_files()
        for _, name in imported_names(ast.parse((ROOT / path).read_text()), ".".join(path.with_suffix("").parts))
    }
    stale = [entry for entry in CROSS_APP_IMPORTS if entry not in made]
    assert not stale, f"CROSS_APP_IMPORTS lists imports no file makes any more: {stale}"


def test_every_app_of_the_project_is_checked():
    local = {app for app in settings.INSTALLED_APPS if (ROOT / app / "__init__.py").exists()}
    assert local == {"chatsite", *APPS}


def test_a_back_import_is_named_by_file_line_and_rule():
    source = "import json\n\ndef collect():\n    from nameserver.services import live_client_count\n"
    assert violations_in(Path("chatsite/core/metrics.py"), source) == [
        "chatsite/core/metrics.py:4: imports nameserver.services.live_client_count; "
        "chatsite.core imports no app, nothing of chatsite.server and nothing of the project shell"
    ]


def test_each_layer_may_import_what_sits_below_it():
    assert not violations_in(Path("messaging/fanout.py"), "from chatsite.core.websocket_frames import FRAMES_EXTENSION")
    assert not violations_in(Path("chatsite/server/x.py"), "from chatsite.core import metrics")
    assert not violations_in(Path("chatsite/asgi.py"), "from nameserver.announce import start_node_announcer")
    assert violations_in(Path("chatsite/server/x.py"), "from nameserver.announce import start_node_announcer")
    assert violations_in(Path("chatsite/server/x.py"), "from chatsite import health")
    assert violations_in(Path("messaging/x.py"), "from chatsite.server.websocket_protocol import encode_text_frames")
    assert violations_in(Path("messaging/x.py"), "from signaling import services")
    assert violations_in(Path("contacts/x.py"), "from chatsite.pruning import prune_all")
    assert violations_in(Path("chatsite/core/x.py"), "from ..server import logs")
