"""JupyterLab smoke test: the server starts, lists the notebooks, runs the package's kernel, stops.

Starts ``jupyter lab`` from this venv as ``make lab`` does (root ``notebooks/``, 127.0.0.1)
plus a random free port, a token and ``--no-browser``; config, runtime and settings
folders are temporary so a user's own Jupyter setup neither leaks in nor gets written.
``MPLBACKEND`` is removed from the server's environment, as the ``lab`` target must do:
``make`` exports ``MPLBACKEND=Agg`` for headless runs, and a kernel inheriting it shows
no figures in JupyterLab.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from shld_jax import paths

ROOT = paths.repo_root()
NB_DIR = ROOT / "notebooks"
KERNEL = "shld-jax"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def get(self, path: str, timeout: float = 10.0):
        auth = {"Authorization": f"token {self.token}"}
        req = urllib.request.Request(self.base + path, headers=auth)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(16)
    exe = Path(sys.executable).parent / "jupyter-lab"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyterlab"]
    cmd += ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--ServerApp.root_dir={NB_DIR}", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:  # containers and CI run as root; jupyter refuses without this
        cmd.append("--allow-root")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "ws"))
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own process group: kernels die with it
    server = Lab(port, token)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"jupyter lab exited ({proc.returncode}):\n{_tail(tmp)}"
            assert time.monotonic() < deadline, f"jupyter lab did not answer in 60 s:\n{_tail(tmp)}"
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        yield server, proc
    finally:
        _stop(proc)
        log.close()


def _tail(tmp: Path) -> str:
    return (tmp / "server.log").read_text(errors="replace")[-3000:]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL what is left in its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(15)


def _execute(server: Lab, kernel_id: str, code: str, timeout: float = 60.0) -> tuple[str, list]:
    """Run ``code`` on a kernel through the server's websocket; return (stdout, error outputs)."""
    import websocket

    session = uuid.uuid4().hex
    ws = websocket.create_connection(
        f"ws://{server.base[7:]}/api/kernels/{kernel_id}/channels?session_id={session}",
        header=[f"Authorization: token {server.token}"], timeout=timeout, suppress_origin=True)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": session,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    out, errors, deadline = [], [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out), errors
        raise TimeoutError(f"kernel did not finish within {timeout} s")
    finally:
        ws.close()


def test_lab_lists_notebooks_and_runs_the_package_kernel(lab):
    server, proc = lab
    t0 = time.monotonic()
    status, page = server.get("/lab")
    assert status == 200 and b"JupyterLab" in page
    listed = {e["name"] for e in server.api("/api/contents")["content"] if e["type"] == "notebook"}
    wanted = {p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb")}
    assert wanted and wanted <= listed, f"not listed by the server: {sorted(wanted - listed)}"
    for name in sorted(wanted):  # each opens as a notebook with the package's kernel
        nb = server.api(f"/api/contents/{name}")
        assert nb["type"] == "notebook"
        assert nb["content"]["metadata"]["kernelspec"]["name"] == KERNEL

    specs = server.api("/api/kernelspecs")["kernelspecs"]
    assert KERNEL in specs, f"kernelspec {KERNEL!r} missing (have {sorted(specs)}); run `make venv`"
    argv0 = Path(specs[KERNEL]["spec"]["argv"][0])
    assert argv0.exists(), f"the {KERNEL} kernel points at a missing python: {argv0}"

    kernel = server.api("/api/kernels", "POST", {"name": KERNEL})
    try:
        out, errors = _execute(server, kernel["id"], (
            "import sys, matplotlib, shld_jax\n"
            "print(sys.prefix)\nprint(shld_jax.__file__)\nprint(matplotlib.get_backend())"))
    finally:
        server.api(f"/api/kernels/{kernel['id']}", "DELETE")
    assert errors == []
    prefix, pkg, backend = out.split()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(pkg).resolve().is_relative_to(ROOT)
    assert "inline" in backend, f"figures would not show in JupyterLab (backend {backend})"
    print(f"lab checks after start-up: {time.monotonic() - t0:.1f} s")


def test_lab_shuts_down_without_orphans(lab):
    """Stopping the server also ends a kernel left running (kernels live in their own session)."""
    psutil = pytest.importorskip("psutil")
    server, proc = lab
    kernel = server.api("/api/kernels", "POST", {"name": KERNEL})
    assert any(k["id"] == kernel["id"] for k in server.api("/api/kernels"))
    family = psutil.Process(proc.pid).children(recursive=True)
    assert any("ipykernel" in " ".join(c.cmdline()) for c in family), "no kernel process found"
    _stop(proc)
    assert proc.returncode is not None
    gone, alive = psutil.wait_procs(family, timeout=15)
    for p in alive:  # do not leave them behind even when failing
        p.kill()
    assert not alive, f"processes outlived the lab server: {[p.cmdline() for p in alive]}"
