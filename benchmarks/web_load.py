"""Load benchmark of the web app on loopback: N signed-in users browsing the explorer and the workbench.

1. Prepare a data directory (skipped for steps whose output exists): ``oncoreg simulate --scale S``, the
   pipeline (``oncoreg run``) into a SQLite store, a snapshot in ``DATA/snapshots/now``, the simulator's
   rate table as ``DATA/ratetable.csv``, and screening files in ``DATA/screening`` (simulated histories
   with the registry's person ids).
2. Create N users (statistician + researcher + registrar) in the store, start ``oncoreg serve`` (one
   uvicorn worker) on a free port, warm the explorer once (the standard tables of the snapshot are computed
   and cached on disk; timed apart), and sign the N users in.
3. Every user loops for ``--duration`` seconds: GET a page drawn from the mix (explorer selections, quality,
   workbench queue/task/tumour-history pages), then think for a uniform 0.5-1.5 s (``--think``); one request
   in five is ``/health`` (no session, no template, no database: the physical floor of the same server and
   client under the same load, measured in the same run).

Writes ``benchmarks/results/web_load.json``: p50/p95/p99 (ms), requests, errors (non-200 or transport), per
group (explorer, quality, workbench, health) and overall, with the machine's CPU count and load average.
Target: p95 under 300 ms, no errors. Run: ``.venv/bin/python benchmarks/web_load.py --scale 0.1``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "web_load.json"
PASSWORD = "load benchmark password"
RUN_COMMAND = (
    "import sys, typer; from oncoreg.cli.run import run; sys.argv[0] = 'oncoreg run'; typer.run(run)"
)
SERVE_COMMAND = "import typer; from oncoreg.cli.serve import serve; typer.run(serve)"
EXPLORER = [
    "/explorer",
    "/explorer?measure=counts&entity=980&sex=0",
    "/explorer?measure=rates&entity=180&sex=2",
    "/explorer?measure=asr&entity=520&sex=1&region=03",
    "/explorer?measure=trends&entity=980&sex=0",
    "/explorer?measure=trends&entity=310&sex=1&standard=europe2013",
    "/explorer?measure=survival&entity=980&sex=0",
    "/explorer?measure=prevalence&entity=520&sex=0",
    "/explorer/data.csv?measure=asr&entity=980&sex=0",
]
QUALITY = ["/quality", "/quality?view=county"]


def _oncoreg(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "oncoreg"), *args]


def _step(name: str, command: list[str], env: dict[str, str] | None = None) -> float:
    print(f"[prepare] {name}: {' '.join(command[:4])} ...", flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def prepare(work: Path, scale: float, seed: int) -> tuple[Path, dict[str, float]]:
    """Simulate, run the pipeline, freeze, add the rate table and screening files; returns the data dir."""
    sim, data = work / "sim", work / "data"
    data.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data / 'registry.sqlite'}"
    seconds: dict[str, float] = {}
    if not (sim / "truth" / "persons.parquet").is_file():
        seconds["simulate"] = _step(
            "simulate", [*_oncoreg("simulate"), "--scale", str(scale), "--seed", str(seed), "--out", str(sim)]
        )
    if not (data / "registry.sqlite").is_file():
        command = [
            sys.executable,
            "-c",
            RUN_COMMAND,
            str(sim),
            "--database-url",
            url,
            "--as-of",
            "2026-01-01",
            "--json",
        ]
        seconds["oncoreg_run"] = _step("oncoreg run", command)
    if not (data / "snapshots" / "now" / "manifest.json").is_file():
        seconds["snapshot"] = _step(
            "snapshot",
            [*_oncoreg("snapshot"), "--out", str(data / "snapshots" / "now"), "--database-url", url],
        )
    shutil.copy(sim / "truth" / "ratetable.csv", data / "ratetable.csv")
    if not (data / "screening" / "screening_events.parquet").is_file():
        started = time.perf_counter()
        _screening_files(sim, data)
        seconds["screening_files"] = round(time.perf_counter() - started, 1)
    return data, seconds


def _screening_files(sim: Path, data: Path) -> None:
    """Simulated screening histories of the simulated persons, keyed by the registry's person ids."""
    import numpy as np
    import polars as pl

    from oncoreg.simulate.screening import simulate_screening

    persons = pl.read_parquet(sim / "truth" / "persons.parquet")
    tumours = pl.read_parquet(sim / "truth" / "tumours.parquet")
    result = simulate_screening(
        persons=persons, tumours=tumours, start_year=2015, end_year=2024, rng=np.random.default_rng(1)
    )
    with sqlite3.connect(data / "registry.sqlite") as connection:
        ids = pl.DataFrame(
            connection.execute(
                "select person_id, identifier from person where identifier is not null"
            ).fetchall(),
            schema={"registry_id": pl.Int64, "identifier": pl.String},
            orient="row",
        )
    mapping = (
        persons.select("person_id", "identifier")
        .join(ids, on="identifier")
        .select("person_id", "registry_id")
    )
    folder = data / "screening"
    folder.mkdir(exist_ok=True)
    events = (
        result.events.join(mapping, on="person_id").drop("person_id").rename({"registry_id": "person_id"})
    )
    events.drop("tumour_id").write_parquet(folder / "screening_events.parquet")
    register = persons.join(mapping, on="person_id").drop("person_id").rename({"registry_id": "person_id"})
    register.select("person_id", "birth_date", "sex", "county", "entry_date", "exit_date").write_parquet(
        folder / "persons.parquet"
    )


def _workbench_urls(data: Path) -> list[str]:
    with sqlite3.connect(data / "registry.sqlite") as connection:
        try:
            tasks = [
                r[0] for r in connection.execute("select task_id from review_task order by task_id limit 50")
            ]
        except sqlite3.OperationalError:
            tasks = []
        tumours = [
            r[0] for r in connection.execute("select tumour_id from tumour order by tumour_id limit 200")
        ]
    urls = ["/workbench", "/workbench?show=findings"]
    urls += [f"/workbench/tasks/{t}" for t in tasks[:20]]
    urls += [f"/workbench/tumours/{t}/history" for t in tumours[::10]]
    return urls


def _users(data: Path, count: int) -> list[str]:
    from oncoreg.registry import Registry
    from oncoreg.web import users
    from oncoreg.web.roles import Role
    from oncoreg.web.schemas import UserCreate

    registry = Registry.create(f"sqlite:///{data / 'registry.sqlite'}")
    names = [f"load-{i:03d}" for i in range(count)]
    try:
        existing = (
            {u.user_name for u in users.list_users(registry)} if hasattr(users, "list_users") else set()
        )
        for name in names:
            if name in existing:
                continue
            try:
                users.create_user(
                    registry,
                    actor="web_load benchmark",
                    user=UserCreate(
                        user_name=name,
                        password=PASSWORD,
                        roles=frozenset({Role.statistician, Role.researcher, Role.registrar}),
                    ),
                )
            except Exception as exc:  # the user exists from an earlier run of the benchmark
                if "taken" not in str(exc):
                    raise
    finally:
        registry.dispose()
    return names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


async def _sign_in(client: httpx.AsyncClient, name: str) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    response = await client.post(
        "/login", data={"user_name": name, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in of {name} failed: {response.status_code}")


async def _user(
    client: httpx.AsyncClient,
    rng: random.Random,
    mix: list[tuple[str, str]],
    until: float,
    think: float,
    samples: list[tuple[str, str, float, int]],
) -> None:
    while time.monotonic() < until:
        group, url = ("health", "/health") if rng.random() < 0.2 else rng.choice(mix)
        started = time.perf_counter()
        try:
            response = await client.get(url)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append((group, url, time.perf_counter() - started, status))
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def _load(
    base: str, names: list[str], mix: list[tuple[str, str]], duration: float, think: float
) -> tuple[list[tuple[str, str, float, int]], float, float]:
    """Sign every user in first (argon2 verifications, not timed with the pages), then browse."""
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in names]
    samples: list[tuple[str, str, float, int]] = []
    try:
        started = time.monotonic()
        gate = asyncio.Semaphore(4)

        async def sign_in(client: httpx.AsyncClient, name: str) -> None:
            async with gate:
                await _sign_in(client, name)

        await asyncio.gather(*(sign_in(c, n) for c, n in zip(clients, names, strict=True)))
        sign_in_seconds = time.monotonic() - started
        started = time.monotonic()
        until = started + duration
        await asyncio.gather(
            *(
                _user(c, random.Random(n), mix, until, think, samples)
                for c, n in zip(clients, names, strict=True)
            )
        )
        return samples, time.monotonic() - started, sign_in_seconds
    finally:
        for client in clients:
            await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/oncoreg-web-load"))
    parser.add_argument("--data-dir", type=Path, help="An already prepared data directory (skips preparing).")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0, help="Mean think time between requests (s).")
    args = parser.parse_args()

    if args.data_dir is not None:
        data, prepare_seconds = args.data_dir, {}
    else:
        data, prepare_seconds = prepare(args.work / f"scale-{args.scale}", args.scale, args.seed)
    names = _users(data, args.users)
    workbench = _workbench_urls(data)
    mix = (
        [("explorer", u) for u in EXPLORER] * 2
        + [("quality", u) for u in QUALITY]
        + [("workbench", u) for u in workbench[:18]]
    )
    port = _free_port()
    env = {
        **os.environ,
        "ONCOREG_DATA_DIR": str(data),
        "ONCOREG_ENVIRONMENT": "development",
        "ONCOREG_LOG_LEVEL": "WARNING",
    }
    env.pop("ONCOREG_DATABASE_URL", None)
    log = data / "web_load_server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE_COMMAND, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)

        async def warm() -> float:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                await _sign_in(client, names[0])
                started = time.perf_counter()
                response = await client.get("/explorer")
                response.raise_for_status()
                return time.perf_counter() - started

        warm_seconds = asyncio.run(warm())
        print(f"[warm] first explorer request (tables computed or read from disk): {warm_seconds:.1f} s")
        print(f"[load] {args.users} users for {args.duration:.0f} s ...", flush=True)
        samples, elapsed, sign_in_seconds = asyncio.run(_load(base, names, mix, args.duration, args.think))
    finally:
        server.terminate()
        server.wait(timeout=30)

    groups: dict[str, Any] = {}
    for group in ("explorer", "quality", "workbench", "health"):
        chosen = [s for s in samples if s[0] == group]
        groups[group] = {
            "requests": len(chosen),
            "errors": sum(1 for s in chosen if s[3] != 200),
            **_percentiles([s[2] for s in chosen]),
        }
    pages = [s for s in samples if s[0] != "health"]
    error_urls = sorted({f"{s[1]} -> {s[3]}" for s in samples if s[3] != 200})[:20]
    result = {
        "benchmark": "web_load",
        "scale": args.scale if args.data_dir is None else None,
        "data_dir": str(data),
        "users": args.users,
        "duration_s": round(elapsed, 1),
        "think_time_s": f"uniform {0.5 * args.think:.2f}-{1.5 * args.think:.2f}",
        "server": "oncoreg serve (uvicorn, 1 worker), SQLite store, loopback",
        "prepare_seconds": prepare_seconds,
        "warm_first_explorer_s": round(warm_seconds, 2),
        "sign_in_all_users_s": round(sign_in_seconds, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "errors": sum(1 for s in samples if s[3] != 200),
        "error_examples": error_urls,
        "pages": {
            "requests": len(pages),
            "errors": sum(1 for s in pages if s[3] != 200),
            **_percentiles([s[2] for s in pages]),
        },
        "groups": groups,
        "target": {"p95_ms": 300, "errors": 0},
        "target_met": bool(pages)
        and (_percentiles([s[2] for s in pages])["p95_ms"] or 1e9) < 300
        and all(s[3] == 200 for s in samples),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("requests", "requests_per_s", "errors", "pages", "target_met")}, indent=2
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
