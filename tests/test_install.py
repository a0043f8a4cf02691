"""auditbot as a province installs it: a built wheel in a fresh venv, run from a folder that is not the repository."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def run(*args: str | Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    # no SMTP password: the sample province and a new one only write their letters (delivery = "outbox")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUDITBOT_CONFIG", "AUDITBOT_SMTP_PASSWORD")}
    env.update(extra)
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_built_wheel_installs_and_runs_the_demo_and_the_weekly_report_from_another_folder(tmp_path) -> None:
    dist = tmp_path / "dist"
    # no compiler (CC=/bin/false fails any compile): the wheel is pure Python, for any platform
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                "--wheel-dir", dist, ROOT, cwd=tmp_path, CC="/bin/false", CXX="/bin/false")
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("auditbot-*.whl"))
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.endswith((".c", ".so", ".pyd", ".pyi"))]
    # one top-level package (no `checks` beside it), with its wording and sample province inside
    assert {name.split("/")[0] for name in names} == {"auditbot", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert {"auditbot/templates/annexes.toml", "auditbot/sample/rules.toml", "auditbot/checks/links.py",
            "auditbot/sample/sites/stp.example.gov.vn/thu-tuc-hanh-chinh", "auditbot/__main__.py",
            "auditbot/templates/datasette/table.html", "auditbot/templates/datasette/chrome.js",
            "auditbot/templates/auditbot.service", "auditbot/templates/new-province.rules.toml",
            "auditbot/templates/new-province.units.csv"} <= set(names)
    # the policy travels as a file, not as the repository's link to ../rules.toml
    shipped_rules = zipfile.ZipFile(wheel).read("auditbot/sample/rules.toml").decode("utf-8")
    assert shipped_rules == (ROOT / "rules.toml").read_text(encoding="utf-8")

    # a fresh venv; its dependencies come from the test venv's site-packages (no network), while
    # auditbot itself comes only from the wheel (the test venv's editable install is not visible there)
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
    (Path(site.stdout.strip()) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run(python, "-c", "import auditbot; print(auditbot.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(fresh)), where.stdout

    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    auditbot = fresh / "bin" / "auditbot"
    demo = run(auditbot, "demo", cwd=elsewhere)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "8. thư hằng tuần" in demo.stdout and "7. Chỉ số theo Quyết định 766" in demo.stdout and (elsewhere / "auditbot-demo" / "rules.toml").is_file()
    outbox = tmp_path / "outbox"
    report = run(auditbot, "report", "--outbox", outbox, "--config", elsewhere / "auditbot-demo" / "rules.toml",
                 cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    letters = list(outbox.rglob("*.eml"))
    assert len(letters) == 9
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in letters]
    attached = [part.get_filename() for m in messages for part in m.iter_attachments()]
    assert any(name and name.endswith(".xlsx") for name in attached)  # the annexes, from the shipped layout
    assert any("THÔNG BÁO KẾT QUẢ KIỂM SOÁT TTHC" in m.get_body(("plain",)).get_content() for m in messages)
    checks = run(auditbot, "validate", "--config", elsewhere / "auditbot-demo" / "rules.toml", cwd=tmp_path)
    assert checks.returncode == 0, checks.stderr
    # a real province's start, and the service file, from the installed package alone
    started = run(auditbot, "init", "thanh-hoa", "--province", "Thanh Hóa", cwd=elsewhere)
    assert started.returncode == 0, started.stderr
    checks = run(auditbot, "validate", "--config", elsewhere / "thanh-hoa" / "rules.toml", cwd=tmp_path)
    assert checks.returncode == 0, checks.stderr
    unit = run(auditbot, "systemd-unit", cwd=tmp_path)
    assert unit.returncode == 0 and "RestartPreventExitStatus=2 3" in unit.stdout

    # the public API and `python -m auditbot`, from the wheel alone
    api = run(python, "-c", "from auditbot import hookimpl, Check, CheckContext, Finding; print(Check.__module__)",
              cwd=tmp_path)
    assert api.returncode == 0 and api.stdout.strip() == "auditbot.checking.types", api.stderr
    help_text = run(python, "-m", "auditbot", "--help", cwd=tmp_path)
    assert help_text.returncode == 0 and "Usage: auditbot" in help_text.stdout, help_text.stderr


def test_every_package_folder_ships_in_the_wheel() -> None:
    """pyproject.toml lists the packages (the card's top-level folders are mapped into auditbot): a new folder
    left out of the list would be missing from every install, while the editable one still works. Data folders
    inside them may be listed too; each listed one must exist."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapped = {folder: package for package, folder in setuptools["package-dir"].items()}

    def package(folder: Path) -> str:
        parts = folder.relative_to(ROOT).parts
        return ".".join([*mapped[parts[0]].split("."), *parts[1:]]) if parts[0] in mapped else ".".join(parts)

    def folder(name: str) -> Path:
        parts = name.split(".")
        for top, mapped_name in mapped.items():
            if name == mapped_name or name.startswith(mapped_name + "."):
                return ROOT.joinpath(top, *parts[len(mapped_name.split(".")):])
        return ROOT.joinpath(*parts)

    code = {package(init.parent) for init in [*ROOT.glob("auditbot/**/__init__.py"),
                                              *(ROOT / f / "__init__.py" for f in mapped)]}
    listed = set(setuptools["packages"])
    assert code <= listed, f"not shipped: {sorted(code - listed)}"
    assert all(folder(name).is_dir() for name in listed), [n for n in listed if not folder(n).is_dir()]


def test_the_sample_policy_validates_as_shipped_from_a_clone() -> None:
    """The top-level rules.toml is the sample province's policy: it validates where it stands."""
    # no SMTP password: the sample only writes its letters (delivery = "outbox")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUDITBOT_CONFIG", "AUDITBOT_SMTP_PASSWORD")}
    done = subprocess.run([sys.executable, "-m", "auditbot", "validate", "--config", "rules.toml"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
