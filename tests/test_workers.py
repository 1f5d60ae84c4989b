"""`chatbot serve --workers 2`: two processes answer on one port, each with the index loaded
read-only, neither with torch mapped into memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from chatbot.settings import PROJECT_ROOT, Settings
from conftest import free_port, make_settings


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def maps_lib(pid: int, name: str) -> bool:
    try:
        return name in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def serve(settings: Settings, *args: str, env_keep: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """``chatbot serve`` on a free 127.0.0.1 port; ``env_keep``: CHATBOT_* variables passed through."""
    port = free_port()
    # A file, not a pipe: nobody reads a pipe while the server runs, and once its 64 KB are full of
    # logged tracebacks (fuzzing makes plenty) the server blocks writing to it and stops answering.
    log = tempfile.TemporaryFile()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_") or k in env_keep}
    env.update(
        CHATBOT_INDEX_DIR=str(settings.index_dir),
        CHATBOT_CORPUS_DIR=str(settings.corpus_dir),
        CHATBOT_DATA_DIR=str(settings.data_dir),
        CHATBOT_LOG_LEVEL="WARNING",
        CHATBOT_PROGRESS="0",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=log,
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc, f"http://127.0.0.1:{port}/"


def server_log(proc: subprocess.Popen) -> str:  # type: ignore[type-arg]
    """What the server wrote to stderr so far."""
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.seek(0)
    return str(log.read().decode(errors="replace"))


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def wait_for_answer(proc: subprocess.Popen, url: str, deadline: float) -> None:  # type: ignore[type-arg]
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            r = httpx.post(url + "api/ask", json={"question": "What were US exports to Azerbaijan in 2024?"}, timeout=30)
            if r.status_code == 200:
                assert r.json()["citations"]
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    while time.monotonic() < deadline and proc.poll() is None:  # the UI is mounted in the background
        if httpx.get(url + "api/health", timeout=30).json().get("ui") in ("ready", "off"):
            return
        time.sleep(0.2)
    pytest.fail(f"server never answered: {server_log(proc)[-2000:] if proc.poll() is not None else ''}")


@pytest.mark.slow
def test_two_workers_answer_on_one_port(bot, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    proc, url = serve(settings, "--workers", "2", "--no-ui")
    try:
        deadline = time.monotonic() + 180
        wait_for_answer(proc, url, deadline)
        # uvicorn's supervisor has the workers (and multiprocessing's resource tracker) as children;
        # a worker that has loaded the index has onnxruntime mapped (and never libtorch)
        loaded: list[int] = []
        while time.monotonic() < deadline and len(loaded) < 2:
            loaded = [pid for pid in children(proc.pid) if maps_lib(pid, "onnxruntime")]
            time.sleep(0.3)
        assert len(loaded) == 2
        assert not any(maps_lib(pid, "libtorch") for pid in [proc.pid, *children(proc.pid)])
        assert httpx.get(url + "api/health", timeout=10).json()["model"].endswith("+onnx-int8")
        assert httpx.get(url, timeout=10).status_code == 404  # no Gradio UI with --no-ui
    finally:
        stop(proc)


@pytest.mark.slow
def test_serving_without_an_index_builds_it_in_another_process(tmp_path: Path) -> None:
    """The ONNX export needs torch; the build runs in a child process, so the server never maps it."""
    settings = make_settings(tmp_path)
    proc, url = serve(settings, "--no-ui")
    try:
        wait_for_answer(proc, url, time.monotonic() + 300)
        assert (settings.index_dir / "current" / "embedder" / "model.onnx").is_file()
        assert maps_lib(proc.pid, "onnxruntime") and not maps_lib(proc.pid, "libtorch")
    finally:
        stop(proc)
