"""A non-editable install carries every file the package reads at run time, not only its modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def _data_files() -> set[str]:
    """Every file of the package that is not Python: templates, Lua scripts, py.typed…"""
    package = REPO / "botengine"
    return {
        path.relative_to(REPO).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }


def test_the_package_has_the_data_files_it_needs() -> None:
    found = _data_files()
    assert "botengine/py.typed" in found
    assert "botengine/storage/redis/lua/accept.lua" in found
    assert any(name.startswith("botengine/dashboard/templates/") for name in found)


@pytest.mark.slow
def test_a_built_wheel_carries_every_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "botengine", source / "botengine", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run(
        [*pip, "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("botengine-*.whl")
    missing = _data_files() - set(zipfile.ZipFile(wheel).namelist())
    assert not missing, f"in the package but not in the wheel (add them to package-data): {sorted(missing)}"
