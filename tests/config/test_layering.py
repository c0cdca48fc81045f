"""Import directions: config asks sweep.data about sources, data never imports config,
and checking a study file loads no torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_config_loads_neither_data_nor_numpy_nor_torch() -> None:
    loaded = _loaded_after("import sweep.config")
    assert not {"torch", "numpy", "sweep.data"} & loaded


def test_checking_a_study_file_loads_no_torch() -> None:
    table = {"study": {"name": "x"}, "data": {"source": "moons", "n_samples": 100}}
    loaded = _loaded_after(f"import sweep.config\nsweep.config.parse_spec({table!r})")
    assert "sweep.data" in loaded and "torch" not in loaded


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_data_never_imports_config() -> None:
    for path in sorted((REPO / "sweep" / "data").glob("*.py")):
        bad = {n for n in _imports(path) if n == "sweep.config" or n.startswith("sweep.config.")}
        assert not bad, (path.name, bad)
