"""BackBot as an installed package: built from its files into a fresh virtual environment and
run from another folder, as someone who installed it would; and what it declares."""
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from conftest import ROOT

ARTICLE = ("---\ntitle: Desk neck care\nurl: https://example.org/desk-neck\n---\n"
           "Gentle chin tucks ease a stiff neck after long screen time. Do ten slow chin tucks every hour.\n")


def run(*args, cwd, check=True):
    p = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600,
                       env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(cwd)})
    if check:
        assert p.returncode == 0, p.stderr[-2000:]
    return p


def test_installed_backbot_runs_from_another_folder(tmp_path):
    # Only what the package declares goes in: a copy of pyproject.toml, README.md and bot/.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, backbot = venv / "bin" / "python", venv / "bin" / "backbot"
    run(python, "-m", "pip", "install", "-q", "--no-deps", source, cwd=tmp_path)
    # The dependencies (torch, gradio, ...) are the test environment's, seen through a .pth
    # file rather than installed again: installing them is pip's job, this checks ours.
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "clinic"
    (elsewhere / "corpus").mkdir(parents=True)
    (elsewhere / "corpus" / "neck.md").write_text(ARTICLE, encoding="utf-8")
    where = run(python, "-c", "import bot; print(bot.__file__)", cwd=elsewhere).stdout
    assert where.startswith(site), where  # the installed copy, not the checkout

    version = run(backbot, "--version", cwd=elsewhere).stdout.strip()
    declared = run(python, "-c", "import importlib.metadata as m; print(m.version('backbot'))", cwd=elsewhere).stdout
    assert re.fullmatch(r"backbot \d+\.\d+\.\d+", version) and version == f"backbot {declared.strip()}"

    assert run(backbot, "ask", "hello", cwd=elsewhere, check=False).returncode == 1  # no index here yet
    run(backbot, "build", "--quiet", cwd=elsewhere)  # ./corpus into ./index
    assert (elsewhere / "index" / "CURRENT").is_file()
    answer = run(backbot, "ask", "how often should I do chin tucks for a stiff neck?", cwd=elsewhere).stdout
    assert "Do ten slow chin tucks every hour." in answer and "Desk neck care" in answer
    assert run(backbot, "status", "--check", cwd=elsewhere).returncode == 0
    (elsewhere / "corpus" / "more.md").write_text(ARTICLE.replace("Desk neck care", "More neck care"), encoding="utf-8")
    assert run(backbot, "status", "--check", cwd=elsewhere, check=False).returncode == 1


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            found[req.name.lower().replace("_", "-")] = next(iter(req.specifier)).version
    return found


def test_the_package_declares_what_the_pinned_environment_has():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(d).name.lower().replace("_", "-"): Requirement(d) for d in project["dependencies"]}
    pinned = pins(ROOT / "requirements.txt")
    assert set(declared) == set(pinned)
    for name, version in pinned.items():
        assert declared[name].specifier.contains(version, prereleases=True), (name, version)
    assert project["scripts"]["backbot"] == "bot.__main__:main"


def test_every_locked_version_is_one_a_public_index_can_serve():
    # A local label such as "+cpu" exists only on the machine that built it; "torch==X" is met
    # by the CPU build where an index or wheel folder offers it, and by PyPI's otherwise.
    local = [line for line in (ROOT / "requirements-lock.txt").read_text().splitlines() if "+" in line.split("#")[0]]
    assert local == []
