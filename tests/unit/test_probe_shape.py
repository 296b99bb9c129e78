"""Every probe module has one shape, so that a newcomer finds the same things in the same
place: its parameters (a `Check` names its Params class, so they come first), its checks,
its probe classes, then the judging and helpers. Read from the source (AST), so a module
that breaks the order fails here by name and line."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

PROBES = Path(__file__).resolve().parents[2] / "probes"
MODULES = sorted(
    p for p in PROBES.glob("*.py") if not p.name.startswith("_") and p.name != "registry.py"
)


def _kind(node: ast.stmt) -> str | None:
    """params, check or probe for the top-level statements that are one; None otherwise."""
    if isinstance(node, ast.ClassDef):
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        if "Params" in bases:
            return "params"
        declares_checks = any(
            isinstance(s, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(t, ast.Name) and t.id == "checks"
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
            )
            for s in node.body
        )
        return "probe" if declares_checks else None
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        func = node.value.func
        if isinstance(func, ast.Name) and func.id in ("Check", "_check"):
            return "check"
    return None


def test_the_walk_sees_every_probe_module():
    assert {p.stem for p in MODULES} >= {"banners", "ssh_config", "tls_quality", "lockout"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_params_then_checks_then_probe_classes(path: Path):
    order = {"params": 0, "check": 1, "probe": 2}
    seen: list[tuple[str, int]] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        kind = _kind(node)
        if kind is not None:
            seen.append((kind, node.lineno))
    out_of_order = [
        f"{path.name} line {line}: {kind} after {prev_kind} (line {prev_line})"
        for (prev_kind, prev_line), (kind, line) in itertools.pairwise(seen)
        if order[kind] < order[prev_kind]
    ]
    assert out_of_order == []
