"""The rooms of mnist_app/ and the way their imports point.

Inside the package, import-linter (pyproject.toml's contracts; it reads every import with `ast`, those inside
functions too) checks that each room imports only the rooms below it and that nothing the dashboard or the
`predict` path can reach imports training, TensorFlow or SciPy. The pages are not a package, so their imports
are read here with `ast`. Each check is also shown failing on a wrong import added for the purpose.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_app import config

ROOT = config.PROJECT_ROOT
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# What a page may import from the package: the rooms the forbidden contract covers (so nothing it imports can
# reach TensorFlow), and the basics.
DASHBOARD_ROOMS = ("mnist_app.ui", "mnist_app.serving", "mnist_app.measure", "mnist_app.images",
                   "mnist_app.network", "mnist_app.store", "mnist_app.config", "mnist_app.errors")
NEVER_ON_A_PAGE = ("tensorflow", "keras", "tf2onnx", "onnx", "ai_edge_litert", "scipy")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the package in `project` (its own copy, found first on the path)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(project / "pyproject.toml")],
                          cwd=project, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)},
                          capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_contracts():
    checked = lint_imports(ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 kept, 0 broken" in checked.stdout


WRONG_IMPORTS = [
    # (module, the import added, what import-linter must say)
    ("ui/views.py", "from mnist_app.training import train", "mnist_app.ui is not allowed to import mnist_app.training"),
    ("images/preprocess.py", "import tensorflow", "mnist_app.images is not allowed to import tensorflow"),
    ("measure/robustness.py", "from mnist_app.serving import service", "mnist_app.measure"),
    ("store/results.py", "from mnist_app.images import reading", "mnist_app.store"),
]


@pytest.mark.parametrize("module, wrong, complaint", WRONG_IMPORTS, ids=[case[0] for case in WRONG_IMPORTS])
def test_a_wrong_import_breaks_a_contract(tmp_path, module, wrong, complaint):
    shutil.copytree(ROOT / "mnist_app", tmp_path / "mnist_app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / "mnist_app" / module
    target.write_text(target.read_text() + f"\n\ndef _wrong():\n    {wrong}  # noqa\n")
    checked = lint_imports(tmp_path)
    assert checked.returncode != 0, f"{wrong} in {module} went unnoticed:\n{checked.stdout}"
    assert "BROKEN" in checked.stdout and complaint in checked.stdout, checked.stdout


def imported_names(source: str) -> set[str]:
    """Every module a file imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def wrong_page_imports(source: str) -> list[str]:
    """What a page imports that the dashboard may not: training, TensorFlow, SciPy, or an unlisted room."""
    wrong = []
    for name in sorted(imported_names(source)):
        top = name.split(".")[0]
        if top in NEVER_ON_A_PAGE:
            wrong.append(name)
        elif top == "mnist_app" and name != "mnist_app" and not name.startswith(DASHBOARD_ROOMS):
            if not any(room.startswith(name + ".") for room in DASHBOARD_ROOMS):  # `from mnist_app import config`
                wrong.append(name)
    return wrong


PAGE_FILES = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py"))]


@pytest.mark.parametrize("page", PAGE_FILES, ids=[path.name for path in PAGE_FILES])
def test_pages_import_only_the_dashboards_rooms(page):
    assert wrong_page_imports(page.read_text()) == []


def test_the_page_check_sees_a_wrong_import():
    page = (ROOT / "pages" / "1_Draw.py").read_text()
    assert wrong_page_imports(page + "\nfrom mnist_app.training import export\n") == ["mnist_app.training",
                                                                                      "mnist_app.training.export"]
    assert wrong_page_imports(page + "\ndef later():\n    import scipy.ndimage\n") == ["scipy.ndimage"]
    assert wrong_page_imports(page + "\nfrom mnist_app import cli\n") == ["mnist_app.cli"]


def test_the_top_level_holds_only_entry_points_and_basics():
    modules = sorted(path.name for path in (ROOT / "mnist_app").glob("*.py"))
    assert len(modules) <= 6, modules
    assert {"__init__.py", "__main__.py", "cli.py", "config.py", "errors.py"} <= set(modules)
