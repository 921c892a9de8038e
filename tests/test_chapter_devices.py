"""Every model a chapter builds goes to the profile's device: a lint of the notebooks' code.

On a GPU, a model that a chapter builds and never moves trains on the host CPU while the GPU
idles (or fails once it meets a GPU tensor). The training loops refuse such a model at run time,
but CI has no GPU, so this test reads the chapters instead: every construction of a
``torch.nn.Module`` outside a class body must be placed, either at once (``Model(...).to(device)``)
or later through the name it was given (``model = Model(...)`` then ``model.to(device)``).
A model that must stay on the CPU says why on its line with a ``# on the CPU:`` comment.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
EXEMPT = "# on the CPU:"
WRAPPERS = {"NoiseFromX0", "Guided"}  # hold a model built elsewhere, no weights of their own


def _code(path: Path) -> str:
    """The chapter's code cells as one Python module (IPython's ! and % lines dropped)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    lines = []
    for cell in cells:
        for line in "".join(cell["source"]).splitlines():
            magic = line.lstrip().startswith(("!", "%"))
            lines.append(line[:len(line) - len(line.lstrip())] + "pass  # magic" if magic else line)
        lines.append("")
    return "\n".join(lines)


def _module_classes(tree: ast.Module) -> tuple[set[str], dict[str, object]]:
    """Names bound to Module classes (imported or defined here), and module aliases (``D`` for utils.diffusion)."""
    classes, aliases = set(), {"nn": torch.nn, "torch": torch}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("utils", "torch"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        continue  # the chapter would fail on this import itself
                if alias.name in WRAPPERS:
                    continue
                if isinstance(value, type) and issubclass(value, torch.nn.Module):
                    classes.add(alias.asname or alias.name)
                elif isinstance(value, type(torch)):
                    aliases[alias.asname or alias.name] = value
    defined = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for _ in range(3):  # classes built on classes defined above them
        for node in defined:
            if any(_is_module_class(base, classes, aliases) for base in node.bases):
                classes.add(node.name)
    return classes, aliases


def _is_module_class(func: ast.expr, classes: set[str], aliases: dict) -> bool:
    if isinstance(func, ast.Name):
        return func.id in classes
    if isinstance(func, ast.Attribute):
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in aliases:
            return False
        value = aliases[func.id]
        for part in reversed(parts):
            value = getattr(value, part, None)
        return parts[0] not in WRAPPERS and isinstance(value, type) and issubclass(value, torch.nn.Module)
    return False


def unplaced_models(path: Path) -> list[str]:
    """The lines of ``path`` that build a model and never move it to a device."""
    source = _code(path)
    tree = ast.parse(source)
    classes, aliases = _module_classes(tree)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    moved = {n.func.value.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in ("to", "cuda") and isinstance(n.func.value, ast.Name)}
    lines, found = source.splitlines(), []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_module_class(node.func, classes, aliases)):
            continue
        parent, inside_class, inside_model = parents.get(node), False, False
        while parent is not None:  # a layer built inside a class, or inside another model's arguments, is its part
            inside_class |= isinstance(parent, ast.ClassDef)
            inside_model |= isinstance(parent, ast.Call) and _is_module_class(parent.func, classes, aliases)
            parent = parents.get(parent)
        if inside_class or inside_model or EXEMPT in lines[node.lineno - 1]:
            continue
        up = parents.get(node)
        if isinstance(up, ast.Attribute) and up.attr in ("to", "cuda"):
            continue
        targets = up.targets if isinstance(up, ast.Assign) else [up.target] if isinstance(up, ast.AnnAssign) else []
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        if names and names & moved:
            continue
        found.append(f"{path.name}: {lines[node.lineno - 1].strip()}")
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_model_a_chapter_builds_is_placed_on_the_device(path):
    unplaced = unplaced_models(path)
    assert not unplaced, ("these models are built but never moved to the profile's device "
                          "(add .to(device), or say why it stays with '# on the CPU: ...'):\n" + "\n".join(unplaced))


def test_the_lint_finds_an_unplaced_model(tmp_path):
    cell = lambda text: {"cell_type": "code", "source": text, "metadata": {}, "outputs": [], "execution_count": None}
    nb = {"cells": [cell("import torch\nfrom torch import nn\nfrom utils.unet import UNet\n"),
                    cell("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                         "        self.layer = nn.Linear(2, 2)\n"),
                    cell("a = UNet(in_channels=1)\nb = Net().to(device)\nc = Net()\nc.to(device)\n"
                         "d = nn.Sequential(nn.Linear(2, 2))\ne = Net()  # on the CPU: a check by hand\n")]}
    path = tmp_path / "99_probe.ipynb"
    path.write_text(json.dumps(nb))
    assert unplaced_models(path) == ["99_probe.ipynb: a = UNet(in_channels=1)",
                                     "99_probe.ipynb: d = nn.Sequential(nn.Linear(2, 2))"]
