"""The package installs: a wheel built from the sources serves every API and passes a contract run.

The wheel is built from a copy of the package directories alone (no repository around it), and
installed without its dependencies into a fresh venv (no system site-packages); the third-party
dependencies come from this test's own environment through a .pth line, which adds their
directory only (an editable install of Standin there is not activated: .pth files in a directory
added that way are not read). So `server`, its specs and everything else it reads at run time
must come from the wheel. `-m "not packaging"` skips it.
"""

from __future__ import annotations

import os
import shutil
import site
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from server.app import API_NAMES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("server", "fixtures", "contract_tests")

pytestmark = pytest.mark.packaging


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed and the test's dependencies beside it."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "--wheel-dir",
        str(tmp / "dist"),
        str(src),
    )
    (wheel,) = (tmp / "dist").glob("standin-*.whl")
    env_dir = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(env_dir))
    python = env_dir / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel))
    purelib = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    deps = sysconfig.get_path("purelib") if sys.prefix != sys.base_prefix else site.getsitepackages()[0]
    (Path(purelib) / "standin_test_dependencies.pth").write_text(deps + "\n")
    return env_dir


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def test_the_installed_package_is_the_wheel(venv, tmp_path):
    code = "import server, fixtures, contract_tests; print(server.__file__, fixtures.__file__, contract_tests.__file__)"
    out = _run(str(venv / "bin" / "python"), "-c", code, cwd=tmp_path, env=_clean_env()).stdout
    for path in out.split():
        assert path.startswith(str(venv)), out
    assert str(ROOT) not in out


def test_the_wheel_serves_every_api_and_passes_a_contract_run(venv, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [str(venv / "bin" / "standin"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(300):
            assert serve.poll() is None, serve.communicate()[0]
            try:
                apis = httpx.get(f"{base}/_standin/apis", timeout=2).json()["apis"]
                break
            except httpx.TransportError:
                time.sleep(0.1)
        names = [a["name"] for a in apis]
        assert names == API_NAMES  # every API of the sources, discovered in the installed package
        for name in names:  # every spec ships
            assert httpx.get(f"{base}/_standin/specs/{name}").text.startswith("openapi")
        contract = subprocess.run(
            [
                str(venv / "bin" / "standin"),
                "contract",
                "--api",
                "productive",
                "--base-url",
                f"{base}/productive",
            ]
            + ["--allow-writes", "--max-examples", "2", "--seed", "1", "--report", str(tmp_path / "report")]
            + ["--allow-unexercised"],  # a short run: every answer it gets must conform
            cwd=tmp_path,
            env={
                **_clean_env(),
                "PRODUCTIVE_TOKEN": "standin-productive-demo-token",
                "PRODUCTIVE_ORGANIZATION_ID": "1308",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert contract.returncode == 0, contract.stdout[-3000:] + contract.stderr[-3000:]
    finally:
        serve.terminate()
        serve.communicate(timeout=20)
