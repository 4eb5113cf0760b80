#!/usr/bin/env python3
"""The HTTP API against its own document (issue 18), run by `make schemathesis` (and `make test`).

Starts a fleet of emulated phones (`zonecast sim`) and `zonecast serve` with a config listing
them, both on loopback ports the programs pick themselves (port 0), with a fresh random API token
passed through the environment only. Then runs schemathesis against the server's own
`/openapi.json`, bounded in examples per operation and in time, in schemathesis's deterministic
mode (hypothesis derandomized: the same cases every run, so a CI failure replays as it happened):

  - not_a_server_error: no 5xx answer;
  - status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance: every answer is one the document lists, in the content type
    and shape it gives;
  - ignored_auth: a route that needs the token refuses a request without it.

schemathesis.toml (beside this file) carries the token header (as ${ZC_SCHEMATHESIS_TOKEN}) and
dictionaries of the names this fleet and config define (zones, sources, priorities, phones), mixed
into the generated requests so that pages really start, collide, take over, talk from a phone and
get stopped, instead of every request ending at "no such zone". Its cache is off: nothing is
written into the checkout and no earlier failure is replayed. The run is bounded by
--max-examples per operation and per phase and, as a whole, by --max-seconds (killed and failed
past it); schemathesis's own --max-time is not used because it repeats fuzzing until the budget
is spent, which would make the run's length, not its cases, the fixed thing.

Afterwards: the server is still alive and answers /healthz, every running page is stopped
through the API (GET /api/pages, DELETE /api/pages/ID) and has ended, and the emulator's own
report (/fleet) shows no phone still receiving or transmitting a stream and no banner left on a
screen. Any failure exits non-zero. Everything started is stopped on exit, whatever happens.

Routes not fuzzed: none of the document's operations is excluded. None stops the server
(SIGTERM does, and there is no shutdown route) and none waits without bound: a page with a long
duration, or spoken from a phone (`talker`, which runs until stopped), runs in the background and
POST /api/pages answers once its pushes are out; the stops at the end end such pages. Recordings
(POST /api/recordings) run in the background too and are ended by DELETE at the end. The event
streams (GET /api/events, /api/pages/{id}/events) stream only to `Accept: text/event-stream`, which
schemathesis does not send (it sends */*), so they answer 406 at once. The phone
services (/services/...) are not in the OpenAPI document (they answer phones in XML) and so are
not fuzzed here; tests/server_services.rs and tests/edges.rs cover them.

Usage (what `make schemathesis` runs):
  target/venv-schemathesis/bin/python tests/schemathesis/run.py \
      --zonecast target/debug/zonecast --schemathesis target/venv-schemathesis/bin/schemathesis
Options: --max-examples N (per operation), --max-seconds S (the whole schemathesis run),
--seed N (seeded random cases instead), --workers N, --keep (leave the work folder: configs,
logs, the junit report). To explore beyond the CI run: ST_CHECKS=all (every schemathesis check,
including positive_data_acceptance, which cannot hold for zone names it cannot know, and
negative_data_rejection, which the clamped limit/n parameters fail), ST_REPORTS=junit,har (every
request and answer in report/).
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN_ENV = "ZC_SCHEMATHESIS_TOKEN"
PHONE_PW_ENV = "ZC_SCHEMATHESIS_PHONE_PW"

CHECKS = os.environ.get("ST_CHECKS") or ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
    ]
)


def log(msg):
    print(f"schemathesis-run: {msg}", flush=True)


class Failure(Exception):
    pass


def http(method, url, token=None, timeout=10.0, body=None):
    """(status, parsed JSON or text) of one request; never raises on an HTTP error status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, method=method, data=data)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    text = body.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_for_line(path, proc, needle, seconds, what):
    """The first line of the file `path` containing `needle`, while `proc` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if needle in line:
                        return line
        if proc.poll() is not None:
            raise Failure(f"{what} exited with {proc.returncode} before it was ready; see {path}")
        time.sleep(0.05)
    raise Failure(f"{what} was not ready within {seconds} s; see {path}")


def toml_str(s):
    return json.dumps(s)


def sim_config(seed):
    # Each phone its own loopback address (so unicast RTP ports never collide with each other
    # or with other tests running at the same time), one HTTP port the emulator picks.
    host = f"127.{10 + random.randrange(240)}.{random.randrange(256)}.1"
    return f"""seed = {seed}
addressing = "addresses"
host = "{host}"
base_port = 0
user = "admin"
password_env = "{PHONE_PW_ENV}"
media_interface = "127.0.0.1"

[[phones]]
count = 3
model = "CP-8851"
prefix = "desk"

[[phones]]
count = 1
model = "CP-7841"
prefix = "hall"

[[phones]]
count = 1
model = "CP-8851-3PCC"
prefix = "mpp"
"""


def serve_config(phones):
    port = 20480 + 2 * random.randrange(5000)
    text = f"""[engine]
media_address = "127.0.0.1"
interface = "127.0.0.1"
port_pool = "{port}-{port + 400}"
multicast_pool = "239.255.{random.randrange(256)}.0/24"
journal = "journal.jsonl"
push_timeout = "3s"
push_retries = 1

[server]
listen = "127.0.0.1:0"
token_env = "{TOKEN_ENV}"
data_dir = "data"
upload_limit = "256K"

[schedule]
timezone = "Europe/Berlin"

# Never rings during a run (04:05 on 29 February), but gives /api/bells firings to list.
[[bell]]
name = "leap"
cron = "5 4 29 2 *"
zones = ["desks"]
source = "chime"

"""
    for p in phones:
        text += (
            f"[[phone]]\nname = {toml_str(p['name'])}\nhost = {toml_str(p['addr'])}\n"
            f"model = {toml_str(p['model'])}\nuser = {toml_str(p['user'])}\n"
            f"password_env = \"{PHONE_PW_ENV}\"\ndevice = {toml_str(p['device'])}\n\n"
        )
    names = [p["name"] for p in phones]
    desks = [n for n in names if n.startswith("desk")]
    text += f"[zone.all]\nmembers = {json.dumps(names)}\nbanner = \"Announcement\"\n\n"
    text += f"[zone.desks]\nmembers = {json.dumps(desks)}\nmode = \"unicast\"\n\n"
    return text


def stop(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        log(f"{name} ignored SIGTERM for 40 s: killing it")
        proc.kill()
        proc.wait()


def running_recordings(url, token):
    """Ids of the recordings still running (None when the list cannot be read)."""
    s, b = http("GET", f"{url}/api/recordings", token)
    if s != 200:
        return None
    return [r["id"] for r in b.get("recordings", []) if r.get("state") == "recording"]


def end_recordings(url, token, seconds):
    """End the recordings the fuzzing started (POST /api/recordings keeps a phone transmitting
    for up to 600 s): DELETE ends a running one early, with its phone's stop. Returns problems."""
    running = running_recordings(url, token)
    if running is None:
        return ["GET /api/recordings failed"]
    log(f"{len(running)} recordings still running: ending them")
    problems = []
    for rid in running:
        s, b = http("DELETE", f"{url}/api/recordings/{urllib.request.quote(rid, safe='')}", token)
        # 404: it ended and was deleted meanwhile; 200: it ended and is deleted now.
        if s not in (200, 202, 404):
            problems.append(f"DELETE /api/recordings/{rid} answered {s}: {b}")
    deadline = time.monotonic() + seconds
    while running:
        if time.monotonic() > deadline:
            problems.append(f"recordings still running {seconds} s after their delete: {running}")
            break
        time.sleep(0.2)
        running = running_recordings(url, token)
        if running is None:
            return problems + ["GET /api/recordings failed"]
    return problems


def release_everything(url, token, control, seconds=30):
    """Stop every running page through the API, wait for them to end, then check that the
    emulated phones are released. Returns a list of problems (empty: all good)."""
    # One page that surely still runs (the fuzzed ones may all have ended), with a banner, at the
    # top priority so it takes the phones over from any fuzzed page that holds them: the stops
    # below always have a live page to end.
    page = {"zone": "all", "source": "silence:600", "banner": "Still paging", "priority": "emergency"}
    s, b = http("POST", f"{url}/api/pages", token, body=page)
    # 409: a fuzzed emergency page holds the phones; it is still running, which does as well.
    if s not in (201, 409):
        return [f"a last page could not start: {s} {b}"]
    status, body = http("GET", f"{url}/api/pages", token)
    if status != 200:
        return [f"GET /api/pages answered {status}: {body}"]
    ids = [p.get("page") for p in body.get("pages", [])]
    log(f"{len(ids)} pages still running: stopping them")
    problems = []
    for pid in ids:
        s, b = http("DELETE", f"{url}/api/pages/{urllib.request.quote(pid, safe='')}", token)
        # 404: it ended on its own between the list and the stop.
        if s not in (202, 404):
            problems.append(f"DELETE /api/pages/{pid} answered {s}: {b}")
    deadline = time.monotonic() + seconds
    while True:
        s, b = http("GET", f"{url}/api/pages", token)
        left = [p.get("page") for p in b.get("pages", [])] if s == 200 else ["?"]
        if not left:
            break
        if time.monotonic() > deadline:
            problems.append(f"pages still running {seconds} s after their stop: {left}")
            break
        time.sleep(0.2)
    problems += end_recordings(url, token, seconds)
    # The phones: the stops were pushed before the pages ended, so this holds at once; a short
    # wait covers a stop the emulator is still executing.
    deadline = time.monotonic() + 5
    while True:
        s, fleet = http("GET", control)
        if s != 200:
            return problems + [f"the emulator's report {control} answered {s}"]
        held = []
        for p in fleet["phones"]:
            if p["heard"] and p["heard"][-1].get("active"):
                held.append(f"{p['name']} still receiving")
            if p.get("transmitting"):
                held.append(f"{p['name']} still transmitting")
            if p.get("status_banner"):
                held.append(f"{p['name']} still shows banner {p['status_banner']!r}")
        if not held or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    pushes = sum(p["counters"]["pushes"] for p in fleet["phones"])
    streams = sum(p["counters"]["rx_started"] for p in fleet["phones"])
    log(f"fleet afterwards: {len(fleet['phones'])} phones had {pushes} pushes and heard "
        f"{streams} streams; {len(held)} not released")
    return problems + held


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zonecast", required=True, help="the zonecast binary")
    ap.add_argument("--schemathesis", required=True, help="the schemathesis executable")
    ap.add_argument("--max-examples", type=int, default=100)
    ap.add_argument("--max-seconds", type=int, default=360)
    ap.add_argument(
        "--seed",
        type=int,
        help="seeded random cases instead of the deterministic ones (explores beyond what CI runs)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.zonecast = os.path.abspath(a.zonecast)
    a.schemathesis = os.path.abspath(a.schemathesis)

    began = time.monotonic()
    # SIGTERM (make interrupted, CI cancelled) unwinds through the cleanup like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    random.seed()  # addresses and ports: random, so parallel runs do not meet
    work = tempfile.mkdtemp(prefix="zonecast-schemathesis-")
    env = dict(os.environ)
    env[TOKEN_ENV] = secrets.token_hex(24)
    env[PHONE_PW_ENV] = secrets.token_hex(12)
    env.setdefault("RUST_LOG", "info")
    sim = serve = None
    ok = False
    try:
        with open(os.path.join(work, "sim.toml"), "w") as f:
            f.write(sim_config(18 if a.seed is None else a.seed))
        sim_out = os.path.join(work, "sim.json")
        sim = subprocess.Popen(
            [a.zonecast, "sim", "--config", "sim.toml", "--json"],
            cwd=work,
            env=env,
            stdout=open(sim_out, "w"),
            stderr=open(os.path.join(work, "sim.log"), "w"),
            stdin=subprocess.DEVNULL,
        )
        fleet = json.loads(wait_for_line(sim_out, sim, '"control"', 30, "zonecast sim"))
        control = fleet["control"]
        if not control.startswith("http://127.0.0.1:"):
            raise Failure(f"the emulator's control endpoint is not on loopback: {control}")
        log(f"{len(fleet['phones'])} emulated phones up; report at {control}")

        with open(os.path.join(work, "zonecast.toml"), "w") as f:
            f.write(serve_config(fleet["phones"]))
        serve_log = os.path.join(work, "serve.log")
        serve = subprocess.Popen(
            [a.zonecast, "serve", "--config", "zonecast.toml", "--listen", "127.0.0.1:0"],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(serve_log, "w"),
            stdin=subprocess.DEVNULL,
        )
        line = wait_for_line(serve_log, serve, "listening on http://", 60, "zonecast serve")
        addr = line.split("listening on http://", 1)[1].split()[0]
        url = f"http://{addr}"
        if not addr.startswith("127.0.0.1:"):
            raise Failure(f"the server is not on loopback: {addr}")
        s, b = http("GET", f"{url}/healthz")
        if s != 200:
            raise Failure(f"/healthz answered {s}: {b}")
        log(f"zonecast serve up at {url}")

        cmd = [
            a.schemathesis,
            "--config-file", os.path.join(HERE, "schemathesis.toml"),
            "--no-color",
            "run", f"{url}/openapi.json",
            "--checks", CHECKS,
            "--max-examples", str(a.max_examples),
            *(["--seed", str(a.seed)] if a.seed is not None else ["--generation-deterministic"]),
            "--workers", str(a.workers),
            "--request-timeout", "20",
            "--suppress-health-check", "too_slow,filter_too_much",
            "--report", os.environ.get("ST_REPORTS", "junit"),
            "--report-dir", os.path.join(work, "report"),
        ]
        shown = " ".join(os.path.relpath(c) if c == a.schemathesis else c for c in cmd)
        log(f"running: {shown}")
        st_began = time.monotonic()
        try:
            rc = subprocess.run(
                cmd, cwd=work, env=env, timeout=a.max_seconds, stdin=subprocess.DEVNULL
            ).returncode
        except subprocess.TimeoutExpired:
            raise Failure(f"schemathesis did not finish within {a.max_seconds} s")
        log(f"schemathesis exited {rc} after {time.monotonic() - st_began:.1f} s")

        problems = []
        if rc != 0:
            problems.append(f"schemathesis reported failures (exit {rc})")
        if serve.poll() is not None:
            problems.append(f"zonecast serve died during the run (exit {serve.returncode}); see {serve_log}")
        else:
            s, b = http("GET", f"{url}/healthz")
            if s != 200:
                problems.append(f"/healthz answered {s} after the run: {b}")
            problems += release_everything(url, env[TOKEN_ENV], control)
        if sim.poll() is not None:
            problems.append(f"zonecast sim died during the run (exit {sim.returncode})")
        if problems:
            raise Failure("; ".join(problems))
        ok = True
    except Failure as e:
        log(f"FAILED: {e}")
    finally:
        stop(serve, "zonecast serve")
        stop(sim, "zonecast sim")
        if serve is not None and ok and serve.returncode not in (0, -signal.SIGTERM):
            log(f"FAILED: zonecast serve exited {serve.returncode} on SIGTERM")
            ok = False
        if ok and not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work folder kept: {work} (configs, sim.log, serve.log, report/)")
    log(f"{'passed' if ok else 'failed'} in {time.monotonic() - began:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
