"""Faults against a real server process on 127.0.0.1: rebuilds under load, a damaged index, a huge
chunked body, a client over its rate limit. Every load loop is bounded in count and time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chatbot.index import IndexManager
from chatbot.settings import PROJECT_ROOT, Settings
from conftest import make_settings
from test_workers import serve as serve_plain
from test_workers import stop, wait_for_answer

pytestmark = pytest.mark.slow
QUESTIONS = ["What were US exports to Azerbaijan in 2024?", "What was the trade turnover in 2023?",
             "What is the capital of France?", "Which companies operate in Azerbaijan?"]


def serve(settings: Settings, *args: str, **env: str) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """``test_workers.serve`` with extra ``CHATBOT_*`` settings for the server process."""
    if not env:
        return serve_plain(settings, *args)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return serve_plain(settings, *args, env_keep=tuple(env))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rebuild(settings: Settings) -> None:
    env = {"CHATBOT_INDEX_DIR": str(settings.index_dir), "CHATBOT_CORPUS_DIR": str(settings.corpus_dir),
           "CHATBOT_DATA_DIR": str(settings.data_dir), "CHATBOT_PROGRESS": "0", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "index", "--rebuild"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_two_rebuilds_under_load_give_no_errors_and_the_server_switches(fresh: Settings) -> None:
    proc, url = serve(fresh, "--no-ui", CHATBOT_RATE_LIMIT_PER_MINUTE="0")  # 16 clients share one address
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        first = httpx.get(url + "api/health", timeout=10).json()["build"]
        statuses: list[int] = []
        stop_at = time.monotonic() + 240
        done = threading.Event()

        def client(i: int) -> None:
            with httpx.Client(timeout=30) as c:
                for n in range(2000):  # bounded in count and in time
                    if done.is_set() or time.monotonic() > stop_at:
                        return
                    try:
                        statuses.append(c.post(url + "api/ask", json={"question": QUESTIONS[(i + n) % 4]}).status_code)
                    except httpx.HTTPError:
                        statuses.append(-1)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        try:
            rebuild(fresh)
            rebuild(fresh)
            current = IndexManager(fresh).current_build()
            assert current is not None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and httpx.get(url + "api/health", timeout=10).json()["build"] != current.name:
                time.sleep(0.5)
        finally:
            time.sleep(2)  # answer a little longer on the new build
            done.set()
            for t in threads:
                t.join(60)
        assert httpx.get(url + "api/health", timeout=10).json()["build"] == current.name != first
        errors = [s for s in statuses if s != 200]
        assert len(statuses) > 100 and errors == [], (len(statuses), errors[:20])
        builds = [b.name for b in (fresh.index_dir / "builds").iterdir() if not b.name.startswith(".")]
        assert len(builds) <= 3, builds  # released builds were deleted
    finally:
        stop(proc)


def test_damaged_embedded_store_answers_503_then_recovers_without_restart(fresh: Settings) -> None:
    proc, url = serve(fresh, "--no-ui", CHATBOT_EXACT_SEARCH_MAX="0")  # dense queries through the embedded Chroma
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        build = IndexManager(fresh).current_build()
        assert build is not None
        db = build / "chroma" / "chroma.sqlite3"
        db.write_bytes(os.urandom(db.stat().st_size))  # garbage over the whole database
        t0 = time.monotonic()
        r = httpx.post(url + "api/ask", json={"question": QUESTIONS[0]}, timeout=30)
        if r.status_code == 200:  # the pages this query reads may be cached: ask readiness
            r = httpx.get(url + "api/health", timeout=30)
        assert r.status_code == 503 and "Retry-After" in r.headers, r.text
        deadline = time.monotonic() + 240
        ok = False
        while time.monotonic() < deadline and proc.poll() is None:
            if httpx.post(url + "api/ask", json={"question": QUESTIONS[0]}, timeout=30).status_code == 200 and \
                    httpx.get(url + "api/health", timeout=30).status_code == 200:
                ok = True
                break
            time.sleep(1)
        assert ok, f"no recovery after {time.monotonic() - t0:.0f} s"
        assert proc.poll() is None  # the same process, no restart
    finally:
        stop(proc)


def test_huge_chunked_body_gets_413_and_memory_stays_flat(settings: Settings, bot) -> None:  # type: ignore[no-untyped-def]
    proc, url = serve(settings)  # with the Gradio UI mounted: the cap covers every route
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        before = rss_kb(proc.pid)
        for path in ("/api/ask", "/gradio_api/queue/join"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n".encode())
                chunk = b"a" * 65536
                sent = 0
                try:
                    while sent < 100 * 1024 * 1024:  # 100 MB at most
                        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                        sent += len(chunk)
                except OSError:
                    pass  # the server closed the connection after its 413
                reply = s.recv(4096).decode(errors="replace")
            assert reply.startswith("HTTP/1.1 413"), (path, reply[:200])
            assert sent < 100 * 1024 * 1024, "the server read the whole body"
        assert rss_kb(proc.pid) - before <= 5 * 1024
    finally:
        stop(proc)


def test_rate_limit_answers_429_and_other_clients_are_unaffected(settings: Settings, bot) -> None:  # type: ignore[no-untyped-def]
    proc, url = serve(settings, "--no-ui", CHATBOT_RATE_LIMIT_PER_MINUTE="30", CHATBOT_RATE_LIMIT_BURST="5")
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        time.sleep(2.5)  # the wait-for-answer request refills
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)
        with httpx.Client(timeout=30) as c:
            codes = [c.post(url + "api/ask", json={"question": QUESTIONS[0]}) for _ in range(12)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited and all(int(r.headers["Retry-After"]) >= 1 for r in limited)
        assert "error" in limited[0].json()
        assert other.post(url + "api/ask", json={"question": QUESTIONS[0]}).status_code == 200
        other.close()
    finally:
        stop(proc)


@pytest.mark.server
def test_chroma_server_killed_or_frozen_gives_503_fast_then_recovers(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    import signal

    from test_chroma_server import chroma_server

    with chroma_server(tmp_path / "chroma") as (chroma_url, chroma):
        site = make_settings(tmp_path / "site", chroma_url=chroma_url)
        IndexManager(site, embedder).ensure()
        proc, url = serve(site, "--no-ui", CHATBOT_CHROMA_URL=chroma_url, CHATBOT_CHROMA_TIMEOUT_S="1",
                          CHATBOT_HEALTH_CACHE_S="0")
        try:
            wait_for_answer(proc, url, time.monotonic() + 120)

            def ask() -> tuple[int, float, httpx.Response]:
                t0 = time.monotonic()
                r = httpx.post(url + "api/ask", json={"question": QUESTIONS[0]}, timeout=30)
                return r.status_code, time.monotonic() - t0, r

            # frozen: the call is abandoned after CHATBOT_CHROMA_TIMEOUT_S
            chroma.send_signal(signal.SIGSTOP)
            try:
                status, took, r = ask()
                assert status == 503 and took < 3 and "Retry-After" in r.headers, (status, took, r.text)
                h = httpx.get(url + "api/health", timeout=30)
                assert h.status_code == 503 and "vector_store" in h.json()["failed"]
            finally:
                chroma.send_signal(signal.SIGCONT)
            assert ask()[0] == 200

            # killed: connection refused, 503 within 2 s
            port = chroma_url.rsplit(":", 1)[1]
            chroma.kill()
            chroma.wait(10)
            status, took, r = ask()
            assert status == 503 and took < 2, (status, took, r.text)
            assert "error" in r.json()
            # back on the same port and folder: answers again, same server process
            exe = Path(sys.executable).parent / "chroma"
            again = subprocess.Popen([str(exe), "run", "--path", str(tmp_path / "chroma" / "data"), "--host",
                                      "127.0.0.1", "--port", port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and ask()[0] != 200:
                    time.sleep(0.5)
                assert ask()[0] == 200 and proc.poll() is None
            finally:
                again.terminate()
                again.wait(20)
        finally:
            stop(proc)


def test_sigterm_drains_in_flight_requests(settings: Settings, bot) -> None:  # type: ignore[no-untyped-def]
    import signal

    proc, url = serve(settings, "--no-ui", CHATBOT_RATE_LIMIT_PER_MINUTE="0", CHATBOT_SHUTDOWN_GRACE_S="10")
    wait_for_answer(proc, url, time.monotonic() + 120)
    outcomes: list[tuple[float, str]] = []  # (when the request was sent, status or error)
    started = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            for n in range(200):  # bounded; ends when the server stops accepting
                sent = time.monotonic()
                try:
                    started.set()
                    r = c.post(url + "api/ask", json={"question": QUESTIONS[(i + n) % 4]})
                    outcomes.append((sent, str(r.status_code)))
                except httpx.ConnectError:
                    return  # refused: the server no longer accepts (not an in-flight request)
                except httpx.HTTPError as exc:
                    outcomes.append((sent, type(exc).__name__))
                    return

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    started.wait(10)
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - t0
    for t in threads:
        t.join(30)
    # In flight = sent before the signal. A request sent after it on a kept-alive connection that
    # the stopping server is closing may be reset: HTTP/1.1 leaves that race to the client's retry.
    dropped = [o for when, o in outcomes if o != "200" and when < t0]
    late = [o for when, o in outcomes if o != "200" and when >= t0]
    assert took < 12 and len(outcomes) > 16 and dropped == [], (took, len(outcomes), dropped[:10], late[:10])


def test_slow_headers_are_closed_by_the_server(settings: Settings, bot) -> None:  # type: ignore[no-untyped-def]
    """A client that opens a connection and dribbles its request line is answered 408 and closed
    within CHATBOT_HEADER_TIMEOUT_S (uvicorn alone would wait for ever); the server stays healthy."""
    proc, url = serve(settings, "--no-ui", CHATBOT_HEADER_TIMEOUT_S="2")
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(0.5)
            t0 = time.monotonic()
            received = b""
            for byte in b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100:
                try:
                    sock.send(bytes([byte]))
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                received += chunk
                if not chunk or time.monotonic() - t0 > 20:
                    break
            took = time.monotonic() - t0
        assert received.startswith(b"HTTP/1.1 408") and 1.5 <= took <= 4, (received[:80], took)
        assert httpx.get(url + "api/health", timeout=30).status_code == 200
    finally:
        stop(proc)
