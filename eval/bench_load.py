"""Load test of POST /api/ask from a separate process: concurrent clients, latency percentiles,
throughput, errors and the server's peak memory.

    .venv/bin/python eval/bench_load.py --out eval/reports/load.json          # starts app.py itself
    .venv/bin/python eval/bench_load.py --workers 1 2 --out eval/reports/load.json   # one run per count
    .venv/bin/python eval/bench_load.py --url http://127.0.0.1:7860/ --pid 1234 --out load.json

Without ``--url`` the script starts ``app.py`` on a free 127.0.0.1 port (index and data in a
temporary folder unless ``--index-dir`` is given) and stops it afterwards. Questions are the first
turn of the single-turn items of eval/questions.jsonl, sent round-robin. Loopback only; bounded by
``--requests`` and ``--max-seconds``. Exit code 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def load_questions(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if len(item.get("turns", [])) == 1:
                out.append(item["turns"][0])
    if not out:
        raise SystemExit(f"no single-turn questions in {path}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in kB from /proc/<pid>/status."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's supervisor and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError):
                pass
    return out


def tree_status(pid: int) -> dict[int, dict[str, int]]:
    return {p: proc_status(p) for p in process_tree(pid)}


def reset_peak(pids: list[int]) -> bool:
    """Reset each process's VmHWM to its current RSS (``/proc/<pid>/clear_refs`` "5"), so that the
    VmHWM read after the run is this run's peak, not the process's lifetime peak."""
    ok = True
    for p in pids:
        try:
            Path(f"/proc/{p}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


class RssSampler:
    """Samples the RSS of a process tree every ``interval`` seconds in a thread: the run's peak even
    where VmHWM cannot be reset (another user's process, an old kernel)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import threading

        self.pid, self.interval = pid, interval
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p, st in tree_status(self.pid).items():
                self.peak[p] = max(self.peak.get(p, 0), st.get("VmRSS", 0))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def start_server(index_dir: Path | None, workdir: Path, timeout: float, workers: int = 1) -> tuple[subprocess.Popen, str, float]:
    """Build the index if needed, then start the server: (process, URL, seconds from its start to ready)."""
    port = free_port()
    env = {
        **os.environ,
        "CHATBOT_INDEX_DIR": str(index_dir or workdir / "index"),
        "CHATBOT_DATA_DIR": str(workdir / "data"),
        "CHATBOT_LOG_LEVEL": "WARNING",
        "CHATBOT_RATE_LIMIT_PER_MINUTE": "0",  # every client of this benchmark shares 127.0.0.1
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(workdir / "gradio"),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("CHATBOT_API_TOKEN", None)
    # build (or check) the index first, so that the ready time below is a server start over a built index
    subprocess.run([sys.executable, "-m", "chatbot.cli", "index"], cwd=ROOT, env=env, check=True, capture_output=True)
    log_path = workdir / "server.log"
    log = log_path.open("wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode}; see {log_path}")
        try:
            if httpx.get(url + "api/health", timeout=2).status_code == 200:
                return proc, url, round(time.monotonic() - t0, 2)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"server did not answer /api/health within {timeout:.0f} s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def run_load(url: str, questions: list[str], requests: int, clients: int, max_seconds: float, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors: list[str] = []
    next_i = 0
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        # warm-up (not counted): one request per client
        await asyncio.gather(*(client.post("api/ask", json={"question": questions[i % len(questions)]}) for i in range(clients)))

        async def worker() -> None:
            nonlocal next_i
            while next_i < requests and time.monotonic() < deadline:
                i = next_i
                next_i += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("api/ask", json={"question": questions[i % len(questions)]})
                    ok = r.status_code == 200 and "text" in r.json()
                    if not ok:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                except (httpx.HTTPError, ValueError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"latencies_ms": latencies, "errors": errors, "wall_s": wall}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_once(args: argparse.Namespace, questions: list[str], workers: int) -> dict:
    proc = None
    workdir_obj = None
    pid = args.pid
    ready_s = None
    try:
        if args.url:
            url = args.url if args.url.endswith("/") else args.url + "/"
            if urlparse(url).hostname not in LOOPBACK:
                raise SystemExit("refusing a non-loopback --url: this benchmark only targets 127.0.0.1")
        else:
            workdir_obj = tempfile.TemporaryDirectory(prefix="bench-load-")
            proc, url, ready_s = start_server(args.index_dir, Path(workdir_obj.name), args.startup_timeout, workers)
            pid = proc.pid
            t0 = time.monotonic()
            if workers > 1:  # /api/health answered by one worker: wait until every worker is up
                while len(process_tree(pid)) < workers + 1 and time.monotonic() - t0 < args.startup_timeout:
                    time.sleep(0.2)
            print(f"server pid {pid} ({workers} worker{'s' if workers > 1 else ''}) ready at {url} in {ready_s} s")
        health = httpx.get(url + "api/health", timeout=10, headers={"Authorization": f"Bearer {args.token}"} if args.token else {}).json()
        rss_before = tree_status(pid) if pid else {}
        hwm_reset = reset_peak(list(rss_before)) if pid else False
        cpu_before = sum(c for c in (cpu_seconds(p) for p in rss_before) if c is not None) if pid else None
        print(f"{args.requests} requests, {args.clients} concurrent clients, {len(questions)} distinct questions ...")
        sampler = RssSampler(pid) if pid else None
        if sampler:
            sampler.__enter__()
        try:
            res = asyncio.run(run_load(url, questions, args.requests, args.clients, args.max_seconds, args.token))
        finally:
            if sampler:
                sampler.__exit__()
        rss_after = tree_status(pid) if pid else {}
        cpu_after = sum(c for c in (cpu_seconds(p) for p in rss_after) if c is not None) if pid else None
    finally:
        if proc is not None:
            stop_server(proc)
        if workdir_obj is not None:
            workdir_obj.cleanup()

    lat = res["latencies_ms"]
    done = len(lat)
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    sampled = sampler.peak if sampler else {}
    # The run's peak: VmHWM when it was reset just before the run, else the sampled maximum (which
    # can miss a spike shorter than the sampling interval). Never the process's lifetime peak.
    procs = [
        {"pid": p, "peak_rss_mb": mb(st["VmHWM"] if hwm_reset else max(sampled.get(p, 0), st["VmRSS"])),
         "sampled_peak_rss_mb": mb(sampled.get(p, 0)), "lifetime_peak_rss_mb": mb(st["VmHWM"]), "rss_mb": mb(st["VmRSS"])}
        for p, st in rss_after.items() if "VmHWM" in st
    ]
    report = {
        "url": url,
        "server_pid": pid,
        "workers": workers,
        "ready_s": ready_s,
        "requests_planned": args.requests,
        "requests_done": done,
        "clients": args.clients,
        "distinct_questions": len(questions),
        "errors": len(res["errors"]),
        "error_samples": res["errors"][:5],
        "wall_s": round(res["wall_s"], 2),
        "throughput_rps": round(done / res["wall_s"], 2) if res["wall_s"] else None,
        "latency_ms": {
            "mean": round(statistics.fmean(lat), 1) if lat else None,
            "p50": round(pct(lat, 50), 1),
            "p95": round(pct(lat, 95), 1),
            "p99": round(pct(lat, 99), 1),
            "max": round(max(lat), 1) if lat else None,
        },
        # one process with 1 worker; the supervisor first, then each worker, with more
        "processes": procs,
        "server_peak_rss_mb": max((p["peak_rss_mb"] for p in procs), default=None),  # during this run
        "peak_rss_method": "VmHWM reset before the run" if hwm_reset else "RSS sampled every 50 ms",
        "server_total_rss_mb": round(sum(p["rss_mb"] for p in procs), 1) if procs else None,
        "server_rss_before_mb": round(sum(st.get("VmRSS", 0) for st in rss_before.values()) / 1024, 1) if rss_before else None,
        "server_cpu_s": round(cpu_after - cpu_before, 2) if cpu_before is not None and cpu_after is not None else None,
        "server": {k: health.get(k) for k in ("version", "model", "passages", "llm")},
        "machine": {"cpus": os.cpu_count(), "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
    }
    print(
        f"done {done}/{args.requests} in {report['wall_s']} s -> {report['throughput_rps']} req/s; "
        f"latency ms p50 {report['latency_ms']['p50']} p95 {report['latency_ms']['p95']} "
        f"p99 {report['latency_ms']['p99']} max {report['latency_ms']['max']}; errors {report['errors']}; "
        f"per-process peak RSS {[p['peak_rss_mb'] for p in procs]} MB, CPU {report['server_cpu_s']} s"
    )
    for e in report["error_samples"]:
        print("  error:", e)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="base URL of a running server (loopback only); default: start app.py")
    ap.add_argument("--pid", type=int, help="server process id for peak RSS when --url is given")
    ap.add_argument("--token", default=os.environ.get("CHATBOT_API_TOKEN"), help="bearer token, if the API needs one")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1], help="worker counts to run in turn (e.g. 1 2)")
    ap.add_argument("--max-seconds", type=float, default=900, help="stop sending after this long")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--index-dir", type=Path, help="index folder for the started server (default: a temporary one)")
    ap.add_argument("--startup-timeout", type=float, default=300)
    ap.add_argument("--out", type=Path, help="write the JSON report here")
    args = ap.parse_args(argv)
    if args.url and len(args.workers) > 1:
        raise SystemExit("--url measures one running server: give one --workers value (or none)")

    questions = load_questions(args.questions)
    runs = [run_once(args, questions, w) for w in args.workers]
    report = runs[0] if len(runs) == 1 else {"runs": runs}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"report written to {args.out}")
    return 0 if all(r["errors"] == 0 and r["requests_done"] == args.requests for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
