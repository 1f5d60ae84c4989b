"""How build, load, memory and answer time grow with the corpus: a benchmark, not a timed test.

    .venv/bin/python eval/bench_scale.py [--sizes 1] [--big] [--rounds 3] [--work eval/reports/scale-work]
                                         [--out eval/reports/scale] [--rebuild] [--no-incremental] [--server]

For each size (MB) a corpus is written under ``--work``: the suite's documents (``eval/docs``) plus
generated reports, each with its own organisation, people, places, prose figures and a table whose
shape (year rows or region rows, 2-5 metric columns, units) and values come from a seeded random
generator, so no text repeats. ``--big`` adds the 20 MB corpus. Each corpus is then indexed and
served in its own child process, so every peak RSS is that stage's alone:

- build: wall time of a full ``IndexManager.build()``, peak RSS, index size on disk; then (unless
  ``--no-incremental``) the re-index after adding one generated 10 KB document (``add_10kb_s``) and
  after removing it again (``remove_10kb_s``);
- serve: ``Chatbot.load()`` time, warm ``ask()`` p50/p95 (and per kind) over a fixed mix of table,
  factoid and unanswerable questions about the generated reports, each asked with an empty
  query-embedding cache, peak RSS;
- with ``--server``, the same serve measurement against a Chroma server (the scale-out path): a
  ``chroma run`` started on 127.0.0.1 (a free port, its own data folder under ``--work``) receives
  the built index's stored vectors, ids, texts and metadata in batches (nothing is embedded again;
  ``copy_s``), the other artefacts are copied into a server-mode index folder whose manifest names
  the server, and the bot loads that index with ``CHATBOT_CHROMA_URL`` pointing at the server. The
  server's own peak RSS is reported beside the bot's; it is stopped at the end whatever happens.

A full build embeds every passage and prose sentence on all cores (≈ 3 min per MB on this 2-core
machine when it is shared; see the report), so the default is the 1 MB corpus alone. On a shared
machine wall time follows the other users' load: the build also reports its CPU seconds
(``build_cpu_s``, all threads) and the load average before and after it (``build_load``).
An index already built for the same corpus is reused (``--rebuild`` forces a full build), so
answering changes can be measured again in seconds. Writes ``report.json`` and ``report.png``
(each measure against corpus size) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CHATBOT_PROGRESS", "0")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 15
HOST = "127.0.0.1"  # the Chroma server of --server listens on loopback only
SYLLABLES = "ka lo ve ra ti mon sel dar bri en tor vak mi sul fen gra lin ost per zu hal nor bel cas dri".split()
FIRST = "Ingrid Tomas Amara Felix Nadia Oskar Leona Ravi Marta Henrik Sofia Emil Hana Pavel Irene Jonas".split()
LAST = "Solberg Varga Okafor Lindqvist Moreau Castell Brandt Novak Haldane Ferreira Kowal Ahlberg Duarte".split()
KINDS = ("port", "utility", "cooperative", "hospital trust", "airline", "mining company", "university", "water board")
ROLES = ("chief executive", "finance director", "chair of the board", "operations manager", "head of research")
METRICS = (
    ("Revenue", "EUR million", 20, 900), ("Operating cost", "EUR million", 10, 700), ("Staff", "people", 80, 9000),
    ("Customers", "thousand", 5, 800), ("Output", "tonnes", 1000, 900000), ("Investment", "USD million", 2, 300),
    ("Energy use", "GWh", 1, 500), ("Complaints", "cases", 10, 5000), ("Passengers", "thousand", 50, 20000),
)
REGIONS = ("North", "South", "East", "West", "Central", "Coastal", "Upland", "Islands")
UNANSWERABLE = (
    "What is the capital of France?",
    "Who won the 1998 football World Cup?",
    "How many moons does Jupiter have?",
    "What is the boiling point of mercury?",
    "Who painted the Mona Lisa?",
    "What is the population of Canada?",
)


def _name(rng: random.Random, parts: int = 2) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _fmt(v: float, big: bool) -> str:
    return f"{v:,.0f}" if big else f"{v:,.1f}"


def report(rng: random.Random, i: int) -> tuple[str, str, list[dict[str, str]]]:
    """One generated report: (file name, Markdown text, questions with their expected answer)."""
    org = f"{_name(rng, 3)} {rng.choice(KINDS).title()}"
    place = _name(rng, 2)
    boss, other = _person(rng), _person(rng)
    role, role2 = rng.sample(ROLES, 2)
    partner = f"{_name(rng, 2)} {rng.choice(('Holdings', 'Systems', 'Logistics', 'Partners', 'Group'))}"
    founded = rng.randint(1890, 2010)
    metrics = rng.sample(METRICS, rng.randint(2, 5))
    year_rows = rng.random() < 0.6
    first = rng.randint(2012, 2021)
    rows = [str(y) for y in range(first, first + rng.randint(3, 6))] if year_rows else rng.sample(REGIONS, rng.randint(3, 6))
    values = {(r, m[0]): rng.uniform(m[2], m[3]) for r in rows for m in metrics}
    head = "| " + (" Year " if year_rows else " Region ") + " | " + " | ".join(f"{m[0]} ({m[1]})" for m in metrics) + " |"
    sep = "|" + "|".join("---" for _ in range(len(metrics) + 1)) + "|"
    body = ["| " + r + " | " + " | ".join(_fmt(values[(r, m[0])], m[3] >= 1000) for m in metrics) + " |" for r in rows]
    grant = rng.uniform(1, 90)
    staff_note = rng.randint(40, 4000)
    prose = [
        f"# {org} annual report {i}",
        "",
        f"The {org}, based in {place}, published its review of the last {len(rows)} "
        f"{'years' if year_rows else 'regions'} on {rng.randint(1, 28)} {rng.choice(('March', 'June', 'October'))} "
        f"{first + len(rows)}. Its {role}, {boss}, said the results reflected "
        f"{rng.choice(('new contracts', 'a mild winter', 'higher prices', 'a longer season'))}.",
        "",
        f"## {rng.choice(('Results', 'Figures', 'Performance', 'Key numbers'))}",
        "",
        f"The table below gives the {org}'s main figures{' by year' if year_rows else ' by region'}:",
        "",
        head, sep, *body,
        "",
        f"## {rng.choice(('Agreements', 'Outlook', 'Governance', 'People'))}",
        "",
        f"The {org} was founded in {founded} and employs about {staff_note:,} people. "
        f"It signed a supply agreement with {partner} worth €{grant:.1f} million. "
        f"{other}, the {role2}, will lead a review of the {_name(rng, 2).lower()} programme.",
        "",
        rng.choice((
            f"Storms closed the {place} site for {rng.randint(2, 30)} days.",
            f"A new office opened in {_name(rng, 2)} with {rng.randint(5, 90)} staff.",
            f"The board approved a dividend of {rng.uniform(0.1, 5):.2f} per share.",
        )),
        "",
    ]
    r, m = rng.choice(rows), rng.choice(metrics)
    qs = [
        {"kind": "table", "q": f"What was the {m[0].lower()} of the {org} in {r}?" if year_rows
         else f"What was the {m[0].lower()} of the {org} in the {r} region?",
         "expect": _fmt(values[(r, m[0])], m[3] >= 1000)},
        {"kind": "factoid", "q": f"Who is the {role} of the {org}?", "expect": boss},
        {"kind": "factoid", "q": f"Which company did the {org} sign a supply agreement with?", "expect": partner},
    ]
    return f"report-{i:05d}.md", "\n".join(prose), qs


def write_corpus(folder: Path, mb: float) -> list[dict[str, str]]:
    """The suite's documents plus generated reports up to ``mb`` megabytes; returns the question mix."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    size = 0
    for meta in sorted((ROOT / "eval" / "docs").glob("*/meta.json")):
        doc = meta.parent / json.loads(meta.read_text(encoding="utf-8"))["document"]
        shutil.copy(doc, folder / f"{meta.parent.name}{doc.suffix}")
        size += doc.stat().st_size
    rng = random.Random(SEED)
    questions: list[dict[str, str]] = []
    i = 0
    while size < mb * 1_000_000:
        name, text, qs = report(rng, i)
        (folder / name).write_text(text, encoding="utf-8")
        size += len(text.encode())
        questions.extend(qs)
        i += 1
    pick = random.Random(SEED)  # the same reports (the first ones) are asked about at every size
    table = [q for q in questions[:60] if q["kind"] == "table"][:8]
    factoid = [q for q in questions[:60] if q["kind"] == "factoid"][:8]
    mix = table + factoid + [{"kind": "unanswerable", "q": q, "expect": ""} for q in UNANSWERABLE]
    pick.shuffle(mix)
    return mix


def _dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def _cpu_s() -> float:
    """CPU seconds of this process so far, every thread (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_build(work: Path, rebuild: bool, incremental: bool) -> dict[str, object]:
    from chatbot.index import IndexManager
    from chatbot.settings import Settings

    settings = Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index")
    manager = IndexManager(settings)
    ok, _ = (False, "") if rebuild else manager.status()
    measured = work / "build.json"  # what the build of this index measured, reported again on reuse
    if ok:
        manifest = manager.read_manifest()
        earlier = json.loads(measured.read_text(encoding="utf-8")) if measured.is_file() else {}
        result: dict[str, object] = {"build_s": manifest.build_seconds if manifest else None, "build_peak_rss_mb": None, **earlier, "reused": True}
    else:
        load = os.getloadavg()[0]
        cpu, t0 = _cpu_s(), time.perf_counter()
        manifest = manager.build(reuse=False)
        result = {
            "reused": False, "build_s": round(time.perf_counter() - t0, 1), "build_cpu_s": round(_cpu_s() - cpu, 1),
            "build_load": [round(load, 2), round(os.getloadavg()[0], 2)], "build_peak_rss_mb": _peak_mb(),
            "passages": manifest.passages, "facts": manifest.facts, "documents": len(manifest.documents),
        }
        measured.write_text(json.dumps(result), encoding="utf-8")
    if incremental:
        result.update(add_one_document(manager, work / "corpus"))
    return result


def added_document(size: int = 10_000) -> str:
    """Generated reports (not in any corpus: their own seed) joined into one document of ``size`` bytes."""
    rng = random.Random(SEED + 1)
    parts: list[str] = []
    while sum(len(p.encode()) for p in parts) < size:
        parts.append(report(rng, 900_000 + len(parts))[1])
    return "\n\n".join(parts)


def add_one_document(manager, corpus: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Seconds to re-index after adding one 10 KB document, then after removing it again."""
    path = corpus / "added-10kb-report.md"
    path.write_text(added_document(), encoding="utf-8")
    try:
        t0 = time.perf_counter()
        manager.build()
        added = time.perf_counter() - t0
    finally:
        path.unlink()
    t0 = time.perf_counter()
    manager.build()
    return {"add_10kb_s": round(added, 1), "remove_10kb_s": round(time.perf_counter() - t0, 1)}


def child_serve(work: Path, rounds: int, index: str = "index", chroma_url: str = "") -> dict[str, object]:
    """Load the index in ``work / index`` and time warm answers; ``chroma_url``: through that server."""
    from chatbot.bot import Chatbot
    from chatbot.evaluation import percentile
    from chatbot.settings import Settings

    mix = json.loads((work / "questions.json").read_text(encoding="utf-8"))
    server = {"chroma_url": chroma_url} if chroma_url else {}
    settings = Settings.from_env(corpus_dir=work / "corpus", index_dir=work / index, **server)
    t0 = time.perf_counter()
    bot = Chatbot.load(settings)
    load_s = time.perf_counter() - t0
    answers = []
    for item in mix:  # warm-up round; also the answers reported
        a = bot.ask(item["q"])
        answers.append({**item, "answer": a.text[:300], "route": a.route, "abstained": a.abstained,
                        "found": bool(item["expect"]) and item["expect"].lower() in a.text.lower()})
    lat: list[float] = []
    by_kind: dict[str, list[float]] = {}
    steps: dict[str, list[float]] = {}
    for _ in range(rounds):
        for item in mix:
            bot.index.embedder.clear_cache()
            s = time.perf_counter()
            a = bot.ask(item["q"])
            ms = (time.perf_counter() - s) * 1000
            lat.append(ms)
            by_kind.setdefault(item["kind"], []).append(ms)
            for step in ("route_ms", "answer_ms"):  # the facts step, and text answering
                steps.setdefault(step, []).append(a.timings.get(step, 0.0))
    return {
        "load_s": round(load_s, 2),
        "ask_p50_ms": round(statistics.median(lat), 1),
        "ask_p95_ms": round(percentile(lat, 95), 1),
        "ask_by_kind_p50_ms": {k: round(statistics.median(v), 1) for k, v in by_kind.items()},
        "ask_by_kind_p95_ms": {k: round(percentile(v, 95), 1) for k, v in by_kind.items()},
        "step_p50_ms": {k: round(statistics.median(v), 1) for k, v in steps.items()},
        "step_p95_ms": {k: round(percentile(v, 95), 1) for k, v in steps.items()},
        "serve_peak_rss_mb": _peak_mb(),
        "answered_expected": sum(a["found"] for a in answers),
        "abstained_unanswerable": sum(a["abstained"] for a in answers if a["kind"] == "unanswerable"),
        "answers": answers,
    }


def child_copy(work: Path, chroma_url: str) -> dict[str, object]:
    """The built (embedded) index as a server-mode index in ``work / "index-server"``: every artefact
    but the embedded store is copied, the store's records go to a collection of the same name on the
    server as stored (no embedding), and the manifest names the server as the vector backend."""
    from dataclasses import asdict, replace

    from chatbot.index import Manifest
    from chatbot.settings import Settings
    from chatbot.vectorstore import ChromaStore, copy_vectors, open_vector_store

    source_root = (work / "index" / "current").resolve()
    manifest = Manifest(**json.loads((source_root / "manifest.json").read_text(encoding="utf-8")))
    dest = work / "index-server"
    if dest.exists():
        shutil.rmtree(dest)
    build = dest / "builds" / source_root.name
    t0 = time.perf_counter()
    shutil.copytree(source_root, build, ignore=shutil.ignore_patterns("chroma", "leases"))
    (dest / "current").symlink_to(Path("builds") / source_root.name)
    files_s = time.perf_counter() - t0
    embedded = Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index", chroma_url="")
    server = Settings.from_env(corpus_dir=work / "corpus", index_dir=dest, chroma_url=chroma_url, chroma_timeout_s=60.0)
    source = open_vector_store(embedded, source_root / "chroma", manifest.collection, create=False)
    target = open_vector_store(server, build / "chroma", manifest.collection, create=True)
    assert isinstance(source, ChromaStore) and isinstance(target, ChromaStore)
    t0 = time.perf_counter()
    copied = copy_vectors(source, target)
    copy_s = time.perf_counter() - t0
    if target.count() != manifest.passages:
        raise SystemExit(f"the server's collection holds {target.count()} vectors, the index {manifest.passages}")
    server_manifest = replace(manifest, vector_backend=chroma_url.rstrip("/"))  # as the index names a server backend
    (build / "manifest.json").write_text(json.dumps(asdict(server_manifest), indent=2), encoding="utf-8")
    return {"copy_files_s": round(files_s, 1), "copy_s": round(copy_s, 1), "copied_vectors": copied, "copy_peak_rss_mb": _peak_mb()}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """``chroma run`` (the venv's) on a free port of 127.0.0.1 with a fresh data folder under
    ``folder``; stopped (terminate, then kill) on exit, whatever happened."""
    import httpx

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    port = _free_port()
    url = f"http://{HOST}:{port}"
    exe = Path(sys.executable).parent / "chroma"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "chromadb.cli.cli"]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"}
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*cmd, "run", "--path", str(folder / "data"), "--host", HOST, "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"chroma run exited:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer within 120 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def _process_peak_mb(pid: int) -> float | None:
    """Peak resident memory of a running process (Linux ``VmHWM``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def serve_through_server(folder: Path, rounds: int) -> dict[str, object]:
    """The serve measurement of ``folder``'s built index with its vectors in a Chroma server."""
    with chroma_server(folder / "chroma-server") as (url, proc):
        result = _run_child("copy", folder, ["--chroma-url", url])
        result.update(_run_child("serve", folder, ["--rounds", str(rounds), "--index", "index-server", "--chroma-url", url]))
        result["chroma_server_peak_rss_mb"] = _process_peak_mb(proc.pid)
    result["chroma_server_data_mb"] = _dir_mb(folder / "chroma-server" / "data")
    return result


SERVE_KEYS = ("load_s", "ask_p50_ms", "ask_p95_ms", "ask_by_kind_p50_ms", "ask_by_kind_p95_ms", "serve_peak_rss_mb",
              "answered_expected", "abstained_unanswerable")


def side_by_side(row: dict[str, object]) -> dict[str, object]:
    """One size's serve measures, embedded and (when measured) through the Chroma server."""
    modes: dict[str, object] = {"embedded": {k: row.get(k) for k in SERVE_KEYS}}
    server = row.get("server")
    if isinstance(server, dict):
        modes["server"] = {k: server.get(k) for k in (*SERVE_KEYS, "copy_s", "chroma_server_peak_rss_mb")}
    return {"corpus_mb": row["corpus_mb"], **modes}


def _summary(row: dict[str, object]) -> dict[str, object]:
    """The row without its answers (printed after each size)."""
    out = {k: v for k, v in row.items() if k != "answers"}
    if isinstance(row.get("server"), dict):
        out["server"] = {k: v for k, v in row["server"].items() if k != "answers"}  # type: ignore[union-attr]
    return out


def _run_child(stage: str, work: Path, extra: list[str]) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", stage, "--work", str(work), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _server(row: dict[str, object], key: str) -> float:
    server = row.get("server")
    value = server.get(key) if isinstance(server, dict) else None
    return float(value) if isinstance(value, int | float) else float("nan")


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["corpus_mb"] for r in rows]
    panels = [("build_s", "build (s)"), ("index_mb", "index size (MB)"), ("load_s", "load (s)"),
              ("peak_rss_mb", "peak RSS (MB): build / serve"), ("ask_p50_ms", "warm ask() (ms): p50 / p95")]
    server = any(isinstance(r.get("server"), dict) for r in rows)
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, title) in zip(axes, panels, strict=True):
        if key == "peak_rss_mb":
            ax.plot(x, [r.get("build_peak_rss_mb") or float("nan") for r in rows], "o-", label="build")
            ax.plot(x, [r["serve_peak_rss_mb"] for r in rows], "s-", label="serve")
            if server:
                ax.plot(x, [_server(r, "serve_peak_rss_mb") for r in rows], "s--", label="serve (Chroma server)")
                ax.plot(x, [_server(r, "chroma_server_peak_rss_mb") for r in rows], "^:", label="chroma run")
            ax.legend(fontsize=7)
        elif key == "build_s":
            ax.plot(x, [r.get("build_s") or float("nan") for r in rows], "o-", label="full")
            ax.plot(x, [r.get("add_10kb_s") or float("nan") for r in rows], "s-", label="add 10 KB")
            ax.legend()
        elif key == "ask_p50_ms":
            ax.plot(x, [r["ask_p50_ms"] for r in rows], "o-", label="p50")
            ax.plot(x, [r["ask_p95_ms"] for r in rows], "s-", label="p95")
            if server:
                ax.plot(x, [_server(r, "ask_p50_ms") for r in rows], "o--", label="p50 (Chroma server)")
                ax.plot(x, [_server(r, "ask_p95_ms") for r in rows], "s--", label="p95 (Chroma server)")
            ax.legend(fontsize=7)
        elif key == "load_s":
            ax.plot(x, [r.get("load_s") or float("nan") for r in rows], "o-", label="embedded")
            if server:
                ax.plot(x, [_server(r, "load_s") for r in rows], "s--", label="Chroma server")
                ax.legend(fontsize=7)
        else:
            ax.plot(x, [r.get(key) or float("nan") for r in rows], "o-")
        ax.set_title(title)
        ax.set_xlabel("corpus (MB)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1", help="corpus sizes in MB, comma-separated (5: a long first build)")
    ap.add_argument("--big", action="store_true", help="also the 20 MB corpus (a long build)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true", help="build even when an index for the corpus exists")
    ap.add_argument("--no-incremental", action="store_true", help="skip the re-index after adding a 10 KB document")
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / "reports" / "scale-work"))
    ap.add_argument("--out", default=str(ROOT / "eval" / "reports" / "scale"))
    ap.add_argument("--server", action="store_true", help="also serve each size through a Chroma server (chroma run on 127.0.0.1)")
    ap.add_argument("--child", choices=("build", "serve", "copy"), help=argparse.SUPPRESS)
    ap.add_argument("--index", default="index", help=argparse.SUPPRESS)
    ap.add_argument("--chroma-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.work)
    if args.child == "build":
        print(json.dumps(child_build(work, args.rebuild, not args.no_incremental)))
        return
    if args.child == "serve":
        print(json.dumps(child_serve(work, args.rounds, args.index, args.chroma_url)))
        return
    if args.child == "copy":
        print(json.dumps(child_copy(work, args.chroma_url)))
        return
    sizes = [float(s) for s in args.sizes.split(",")] + ([20.0] if args.big else [])
    rows = []
    for mb in sizes:
        folder = work / f"{mb:g}mb"
        corpus = folder / "corpus"
        mix = write_corpus(corpus, mb)
        (folder / "questions.json").write_text(json.dumps(mix), encoding="utf-8")
        row: dict[str, object] = {"corpus_mb": round(_dir_mb(corpus), 2), "files": len(list(corpus.iterdir()))}
        extra = (["--rebuild"] if args.rebuild else []) + (["--no-incremental"] if args.no_incremental else [])
        row.update(_run_child("build", folder, extra))
        row["index_mb"] = _dir_mb(folder / "index")
        row.update(_run_child("serve", folder, ["--rounds", str(args.rounds)]))
        if args.server:
            row["server"] = serve_through_server(folder, args.rounds)
        rows.append(row)
        print(json.dumps(_summary(row)), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"seed": SEED, "rounds": args.rounds, "serve_modes": [side_by_side(r) for r in rows], "sizes": rows}
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot(rows, out / "report.png")
    print(f"wrote {out / 'report.json'} and {out / 'report.png'}")


if __name__ == "__main__":
    main()
