"""qg-gateway against a running broker and pass-through workers.

Started by tests/integration/gateway-api.sh (embedded broker) and
gateway-kafka.sh (real Kafka), which start the broker, qg-events and the
workers: passA, and passB that fails goals carrying the parameter failWith.
This script starts the gateways itself (a first one, a replica started later
with auth and CORS on, one with TLS) and checks every endpoint. Every response
is validated against schemas/openapi.yaml: its status must be documented for
the operation, its media type too, and a JSON body must match the schema.

Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
"""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

ROOT = os.environ["QG_ROOT"]
BIN = os.environ["QG_BIN"]
BOOTSTRAP = os.environ["GW_BOOTSTRAP"]
PREFIX = os.environ["GW_PREFIX"]
EVENTS_OUT = os.environ["GW_EVENTS_OUT"]
LOGDIR = os.environ["GW_LOGDIR"]
WORKER_METRICS = os.environ["GW_WORKER_METRICS"]  # host:port of passA's metrics.listen
EXPECT_GROUPS = os.environ.get("GW_EXPECT_GROUPS") == "1"  # broker lists consumer groups
MAX_BODY = 65536

SPEC = yaml.safe_load(open(os.path.join(ROOT, "schemas/openapi.yaml"), encoding="utf-8"))
passed = failed = 0
procs = []


def check(what, cond, info=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what} {info}")
    sys.stdout.flush()
    return cond


# ---------- the spec ----------

def find_operation(method, path):
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def spec_errors(method, path, status, ctype, body):
    """What is wrong with a response according to the spec ([] when it conforms)."""
    template, op = find_operation(method, path.split("?")[0])
    if not op:
        return [f"no operation {method} {path}"]
    resp = op["responses"].get(str(status))
    if resp is None:
        return [f"status {status} not documented for {method} {template}"]
    resp = resolve(resp)
    content = resp.get("content", {})
    media = (ctype or "").split(";")[0].strip()
    if not content:
        return []
    if media not in content:
        return [f"media type {media!r} not documented for {status} ({list(content)})"]
    schema = content[media].get("schema")
    if not schema or not media.endswith("json"):
        return [] if isinstance(body, str) or body is None else ["expected text"]
    wrapper = {"allOf": [schema], "components": SPEC["components"]}
    return [e.message for e in OAS31Validator(wrapper).iter_errors(body)]


# ---------- HTTP ----------

class Reply:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.ctype = headers.get("Content-Type", "")
        self.body = None
        if "json" in self.ctype:
            try:
                self.body = json.loads(raw)
            except ValueError:
                self.body = "<invalid JSON>"
        else:
            self.body = raw.decode("utf-8", "replace")


def request(base, method, path, body=None, headers=None, raw=None, validate=True, tls=False,
            timeout=60):
    host, port = base
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    reply = Reply(r.status, {k: v for k, v in r.getheaders()}, r.read())
    conn.close()
    if validate:
        errs = spec_errors(method, path, reply.status, reply.ctype, reply.body)
        check(f"{method} {path.split('?')[0]} -> {reply.status} conforms to openapi.yaml",
              not errs, errs[:3])
    return reply


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_gateway(name, *extra):
    out = open(os.path.join(LOGDIR, f"{name}.out"), "w+")
    err = open(os.path.join(LOGDIR, f"{name}.log"), "w")
    args = [os.path.join(BIN, "qg-gateway"), "-b", BOOTSTRAP, "--topic-prefix", PREFIX,
            "-X", "pipeline.extra.stages=passA,passB,passC", "-X", "http.listen=127.0.0.1:0",
            "-X", f"events.watch={EVENTS_OUT}", "-X", "ready.stages=passA,passB",
            "-X", f"http.max.body.bytes={MAX_BODY}", "-X", f"patterns={ROOT}/config/goal-patterns.yaml",
            "-X", f"http.console.dir={ROOT}/tools/qg-gateway/console", *extra]
    p = subprocess.Popen(args, stdout=out, stderr=err, env={k: v for k, v in os.environ.items()
                                                            if not k.startswith("QG_HTTP")})
    procs.append(p)
    deadline = time.time() + 90
    while time.time() < deadline and p.poll() is None:
        out.seek(0)
        line = out.readline()
        m = re.match(r"https?://127\.0\.0\.1:(\d+)/", line)
        if m:
            return ("127.0.0.1", int(m.group(1)))
        time.sleep(0.1)
    raise SystemExit(f"gateway {name} did not start (see {LOGDIR}/{name}.log)")


def poll_until(fn, timeout=60, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return None


def goal(gid=None, stages=("passA", "passB"), params=()):
    q = {"goalType": "gw_test", "parameters": list(params),
         "metadata": {"pipelineStages": list(stages)}, "userField": {"kept": True}}
    if gid:
        q["goalId"] = gid
    return {"QueryGoal": q}


def new_id(tag):
    return f"gw-{tag}-{uuid.uuid4().hex[:10]}"


def metric(text, name, labels=None):
    """Sum of a metric's series whose labels include `labels` (parsed independently)."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            total += float(m.group(3))
    return total


def scrape(base):
    return request(base, "GET", "/metrics").body


def worker_metrics():
    host, port = WORKER_METRICS.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def status_of(base, gid, **kw):
    return request(base, "GET", f"/api/v1/goals/{gid}", validate=False, **kw)


def wait_state(base, gid, states, timeout=60, **kw):
    def probe():
        r = status_of(base, gid, **kw)
        return r if r.status == 200 and r.body.get("status") in states else None
    return poll_until(probe, timeout)


def read_sse(base, path, opened=None, timeout=60):
    """(status, content type, events as (name, data), whether the server ended the stream).
    `opened` (a threading.Event) is set when the first line arrives."""
    conn = http.client.HTTPConnection(*base, timeout=timeout)
    conn.request("GET", path)
    r = conn.getresponse()
    events, name, ended = [], None, False
    ctype = r.getheader("Content-Type")
    while True:
        line = r.readline()
        if opened:
            opened.set()
        if not line:
            ended = True
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    conn.close()
    return r.status, ctype, events, ended


# ---------- the checks ----------

def check_spec():
    try:
        validate_spec(SPEC)
        check("schemas/openapi.yaml is a valid OpenAPI 3.1 document", True)
    except Exception as e:  # noqa: BLE001 - report whatever the validator says
        check("schemas/openapi.yaml is a valid OpenAPI 3.1 document", False, str(e)[:300])
    # A response that breaks the spec must be caught: the validator can fail.
    errs = spec_errors("GET", "/api/v1/goals/x", 200, "application/json", {"goalId": 1})
    check("the response validator rejects a non-conforming body", bool(errs))


def check_health(gw):
    r = request(gw, "GET", "/healthz")
    check("healthz says ok", r.status == 200 and r.body == {"status": "ok"})
    r = request(gw, "GET", "/readyz")
    check("readyz: ready, Kafka reachable, index caught up",
          r.status == 200 and r.body["kafka"] and r.body["indexCaughtUp"], r.body)
    members = r.body["stageMembers"]
    if EXPECT_GROUPS:
        check("readyz counts the members of passA and passB's groups",
              members.get("passA", 0) >= 1 and members.get("passB", 0) >= 1, members)
    else:
        check("readyz says the embedded broker cannot tell group members (-1)",
              members == {"passA": -1, "passB": -1}, members)


def check_submit(gw):
    gid = new_id("submit")
    doc = goal(gid)
    r = request(gw, "POST", "/api/v1/goals", doc)
    check("POST a goal document -> 202 with its id", r.status == 202 and r.body["goalId"] == gid,
          r.status)
    check("... Location names the goal", r.headers.get("Location") == f"/api/v1/goals/{gid}")
    check("... CORS is off by default", "Access-Control-Allow-Origin" not in r.headers)
    done = wait_state(gw, gid, {"completed"})
    check("the goal completes", done is not None)
    if done:
        request(gw, "GET", f"/api/v1/goals/{gid}")
        g = done.body["goal"]
        expected = doc["QueryGoal"]["metadata"]["pipelineStages"]
        check("... with the enriched goal: one completed log entry per stage of its pipeline",
              [s["stage"] for s in g["executionLog"]["stages"] if s["status"] == "completed"]
              == expected and g["executionLog"]["status"] == "completed")
        check("... and unknown fields kept", g["QueryGoal"]["userField"] == {"kept": True})
    return gid


def check_idempotency(gw, gid):
    before = metric(scrape(gw), "qg_goals_submitted_total")
    r = request(gw, "POST", "/api/v1/goals", goal(gid))
    check("resubmitting a known goal id -> 200 with its state, not 202",
          r.status == 200 and r.body["status"] == "completed", r.status)
    key = new_id("key")
    r1 = request(gw, "POST", "/api/v1/goals", goal(), headers={"Idempotency-Key": key})
    r2 = request(gw, "POST", "/api/v1/goals", goal(), headers={"Idempotency-Key": key})
    check("Idempotency-Key names the goal: 202, then 200 for the repeat",
          r1.status == 202 and r1.body["goalId"] == key and r2.status == 200, (r1.status, r2.status))
    r = request(gw, "POST", "/api/v1/goals", goal(new_id("other")), headers={"Idempotency-Key": key})
    check("an Idempotency-Key that differs from the goalId -> 422 at QueryGoal.goalId",
          r.status == 422 and r.body.get("path") == "QueryGoal.goalId", r.body)
    after = metric(scrape(gw), "qg_goals_submitted_total")
    check("only the new goal was produced (submitted counter +1)", after - before == 1,
          (before, after))
    wait_state(gw, key, {"completed"})
    # passA handled each goal once: a sentinel submitted after the repeats completes,
    # then passA's own count equals the goals sent to it.
    return key


def check_text(gw):
    for text, lang in (("Predict production time for product P-1001 quantity 50", "en"),
                       ("제품 P-1001 50개 생산 시간 예측", "ko")):
        expected = json.loads(subprocess.run(
            [os.path.join(BIN, "qgctl"), "ask", text, "--patterns",
             f"{ROOT}/config/goal-patterns.yaml"], capture_output=True, check=True).stdout)
        r = request(gw, "POST", "/api/v1/goals", {"text": text, "language": lang})
        check(f"a question ({lang}) -> 202, goal type as qgctl ask gives it",
              r.status == 202 and r.body.get("goalType") == expected["QueryGoal"]["goalType"]
              and r.body.get("stage") == expected["QueryGoal"]["metadata"]["pipelineStages"][0],
              r.body)
    r = request(gw, "POST", "/api/v1/goals", {"text": "what is the weather"})
    check("a question it cannot map -> 422 at $.text", r.status == 422 and
          r.body.get("path") == "$.text", r.body)


def check_bad_bodies(gw):
    before_gw = metric(scrape(gw), "qg_goals_submitted_total")
    before_w = metric(worker_metrics(), "qg_stage_records_total")
    cases = [
        ("not JSON", b'{"QueryGoal":', 400, "$"),
        ("huge", b'{"pad":"' + b"x" * (MAX_BODY + 10) + b'"}', 413, "$"),
        ("an array", b"[1,2]", 422, "$"),
        ("wrong type of parameters", json.dumps(
            {"QueryGoal": {"goalId": "bad-1", "goalType": "t", "parameters": "x",
                           "metadata": {"pipelineStages": ["passA"]}}}).encode(), 422,
         "QueryGoal.parameters"),
        ("unknown stage", json.dumps(goal("bad-2", stages=("passA", "nope"))).encode(), 422,
         "QueryGoal.metadata.pipelineStages[1]"),
        ("no pipeline", json.dumps({"QueryGoal": {"goalId": "bad-3", "goalType": "t",
                                                  "parameters": [], "metadata": {}}}).encode(),
         422, "QueryGoal.metadata.pipelineStages"),
        ("text of the wrong type", b'{"text": 5}', 422, "$.text"),
        ("a goal id with a slash", json.dumps(goal("a/b")).encode(), 422, "QueryGoal.goalId"),
    ]
    for what, raw, status, path in cases:
        r = request(gw, "POST", "/api/v1/goals", raw=raw)
        check(f"bad body ({what}) -> {status} problem at {path}",
              r.status == status and r.ctype.startswith("application/problem+json")
              and r.body.get("path") == path and r.body.get("status") == status,
              (r.status, r.body))
    r = request(gw, "POST", "/execute-goal-runtime", raw=b"nope")
    check("bad body on the synchronous endpoint -> 400 problem", r.status == 400)
    sentinel = new_id("sentinel")
    request(gw, "POST", "/api/v1/goals", goal(sentinel))
    wait_state(gw, sentinel, {"completed"})
    after_gw = metric(scrape(gw), "qg_goals_submitted_total")
    after_w = metric(worker_metrics(), "qg_stage_records_total")
    check("nothing produced for bad bodies: only the sentinel reached the gateway's producer",
          after_gw - before_gw == 1, (before_gw, after_gw))
    check("... and only the sentinel reached passA", after_w - before_w == 1, (before_w, after_w))


def check_sent_once(gw, goals_sent):
    text = worker_metrics()
    handled = metric(text, "qg_stage_records_total", {"stage": "passA"})
    check("passA handled each goal sent to it exactly once (resubmits not run again)",
          handled == goals_sent, (handled, goals_sent))
    check("worker metrics: a duration histogram per stage",
          metric(text, "qg_stage_duration_seconds_count", {"stage": "passA"}) == goals_sent)


def check_not_found(gw):
    r = request(gw, "GET", "/api/v1/goals/no-such-goal")
    check("an unknown goal -> 404 problem", r.status == 404 and r.body["status"] == 404)
    r = request(gw, "GET", "/api/v1/goals/no-such-goal/report")
    check("the report of an unknown goal -> 404", r.status == 404)
    r = request(gw, "DELETE", "/api/v1/goals", validate=False)
    check("a method not allowed -> 405 problem", r.status == 405 and
          r.ctype.startswith("application/problem+json"))
    r = request(gw, "POST", "/api/v1/dlq/no-such-goal/replay")
    check("replaying an unknown goal -> 404", r.status == 404)


def check_lists_and_console(gw, gid):
    r = request(gw, "GET", "/api/v1/goals?limit=500")
    ids = [i["goalId"] for i in r.body["items"]]
    check("the recent goals list holds the submitted goal", gid in ids, ids[:5])
    r = request(gw, "GET", "/api/v1/goals?limit=1")
    check("... and honours limit", len(r.body["items"]) == 1)
    r = request(gw, "GET", "/", validate=False)
    check("/ redirects to the console", r.status == 302 and r.headers.get("Location") == "/console/")
    r = request(gw, "GET", "/console/", validate=False)
    check("the console page is served as HTML with a Content-Security-Policy",
          r.status == 200 and r.ctype.startswith("text/html") and "app.js" in r.body
          and "default-src 'self'" in r.headers.get("Content-Security-Policy", ""))
    r = request(gw, "GET", "/console/../README.md", validate=False)
    check("no file outside the console directory", r.status == 404)


def check_report(gw, gid):
    r = request(gw, "GET", f"/api/v1/goals/{gid}/report")
    check("the report of a completed goal is an HTML page naming it",
          r.status == 200 and r.ctype.startswith("text/html") and gid in r.body)


def check_sse(gw):
    gid = new_id("sse")
    result = {}
    opened = threading.Event()
    t = threading.Thread(target=lambda: result.update(zip(
        ("status", "ctype", "events", "ended"),
        read_sse(gw, f"/api/v1/goals/{gid}/events", opened))))
    t.start()
    # The stream opens (subscribed to qg-events) before the goal exists.
    check("SSE on a goal not yet submitted opens at once", opened.wait(30))
    request(gw, "POST", "/api/v1/goals", goal(gid))
    t.join(90)
    events = result.get("events", [])
    errs = spec_errors("GET", f"/api/v1/goals/{gid}/events", result.get("status"),
                       result.get("ctype"), "")
    check("GET .../events conforms to openapi.yaml (200 text/event-stream)", not errs, errs)
    progress = [(d.get("stage"), d.get("state")) for n, d in events if n == "progress"]
    check("SSE carries the progress of both stages",
          ("passA", "completed") in progress and ("passB", "completed") in progress, progress)
    check("SSE ends with the final status, and the stream ends",
          events and events[-1][0] == "status" and events[-1][1]["status"] == "completed"
          and result.get("ended"), events[-1:] if events else None)
    r = read_sse(gw, f"/api/v1/goals/{gid}/events")
    check("SSE on a completed goal: one status event, then the end",
          len(r[2]) == 1 and r[2][0][1]["status"] == "completed" and r[3])


def check_sync(gw):
    r = request(gw, "POST", "/execute-goal-runtime?timeout=60000", goal(new_id("sync")))
    check("execute-goal-runtime -> 200 with the executed goal and its log",
          r.status == 200 and r.body["executionLog"]["status"] == "completed", r.status)
    fail_id = new_id("fail")
    r = request(gw, "POST", "/execute-goal-runtime?timeout=60000",
                goal(fail_id, params=[{"key": "failWith", "value": "stage_error"}]))
    check("a failing goal -> 500 naming the failed stage, class and reason",
          r.status == 500 and r.body.get("failedStage") == "passB"
          and r.body.get("class") == "stage_error" and "failWith" in r.body.get("reason", ""),
          r.body)
    r = request(gw, "POST", "/execute-goal-runtime?timeout=1500",
                goal(new_id("slow"), stages=("passA", "passC")))
    check("a goal that does not finish in time -> 504", r.status == 504, r.status)
    if EXPECT_GROUPS:
        r = request(gw, "POST", "/execute-goal-runtime?timeout=5000",
                    goal(new_id("noworker"), stages=("passC",)))
        check("no worker in the first stage's group -> 503", r.status == 503, r.status)
    return fail_id


def check_dlq(gw, fail_id):
    r = request(gw, "GET", "/api/v1/dlq")
    mine = [i for i in r.body["items"] if i["goalId"] == fail_id]
    check("the DLQ lists the failed goal with class, stage and reason",
          mine and mine[0]["failure"]["class"] == "stage_error"
          and mine[0]["failure"]["stage"] == "passB", mine)
    r = request(gw, "GET", f"/api/v1/goals/{fail_id}/report")
    check("a failed goal has a report too", r.status == 200)
    before = metric(scrape(gw), "qg_dlq_records_total", {"stage": "passB", "class": "stage_error"})
    r = request(gw, "POST", f"/api/v1/dlq/{fail_id}/replay")
    check("replay -> 202, running again at the stage that failed",
          r.status == 202 and r.body["status"] == "running" and r.body["stage"] == "passB",
          r.body)
    # passB still fails it: the replayed record is processed and dead-lettered again.
    again = poll_until(lambda: metric(scrape(gw), "qg_dlq_records_total",
                                      {"stage": "passB", "class": "stage_error"}) > before, 60)
    check("the replayed goal ran at passB again (a new dead letter)", again)
    st = wait_state(gw, fail_id, {"failed"})
    check("... and it is failed again", st is not None)
    r = request(gw, "POST", f"/api/v1/goals/{fail_id}/report", validate=False)
    check("POST on a GET resource -> 405", r.status == 405)


def check_metrics(gw):
    text = scrape(gw)
    check("gateway metrics: goals submitted by goal type",
          metric(text, "qg_goals_submitted_total", {"goal_type": "gw_test"}) >= 5)
    check("... completed by goal type", metric(text, "qg_goals_completed_total",
                                               {"goal_type": "gw_test"}) >= 4)
    check("... failed by goal type and class", metric(text, "qg_goals_failed_total",
                                                      {"class": "stage_error"}) >= 1)
    check("... stage latency histograms", metric(text, "qg_stage_latency_seconds_count",
                                                  {"stage": "passB"}) >= 4)
    check("... HTTP requests by route and code", metric(text, "qg_http_requests_total",
                                                        {"route": "/api/v1/goals", "code": "202"}) >= 5)


def check_replica_auth_cors(done_id, fail_id):
    token_file = os.path.join(LOGDIR, "token")
    token = uuid.uuid4().hex
    with open(token_file, "w") as f:
        f.write(token + "\n")
    gw2 = start_gateway("replica", "-X", f"http.token.file={token_file}",
                        "-X", "http.cors.origin=https://mes.example")
    auth = {"Authorization": f"Bearer {token}"}
    r = request(gw2, "GET", f"/api/v1/goals/{done_id}")
    check("auth on: no token -> 401 problem with WWW-Authenticate",
          r.status == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer"))
    r = request(gw2, "GET", f"/api/v1/goals/{done_id}", headers={"Authorization": "Bearer nope"})
    check("auth on: a wrong token -> 401", r.status == 401)
    r = request(gw2, "POST", "/api/v1/goals", goal(new_id("noauth")))
    check("auth on: POST without a token -> 401, nothing produced", r.status == 401)
    r = wait_state(gw2, done_id, {"completed"}, headers=auth)
    check("a replica started after the goal answers for it: completed, with the goal",
          r is not None and r.body["goal"]["QueryGoal"]["goalId"] == done_id)
    if r:
        request(gw2, "GET", f"/api/v1/goals/{done_id}", headers=auth)
    r = wait_state(gw2, fail_id, {"failed"}, headers=auth)
    check("... and for a failed one, with class and reason",
          r is not None and r.body["failure"]["class"] == "stage_error")
    r = request(gw2, "GET", "/healthz")
    check("auth on: healthz needs no token", r.status == 200)
    check("CORS on: the configured origin is allowed",
          r.headers.get("Access-Control-Allow-Origin") == "https://mes.example")
    r = request(gw2, "OPTIONS", "/api/v1/goals", validate=False)
    check("CORS on: a preflight -> 204 naming the methods",
          r.status == 204 and "POST" in r.headers.get("Access-Control-Allow-Methods", ""))
    log = open(os.path.join(LOGDIR, "replica.log")).read()
    check("the token never appears in the log", token not in log)


def check_tls(done_id):
    cert = os.path.join(LOGDIR, "cert.pem")
    key = os.path.join(LOGDIR, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                   capture_output=True, check=True)
    gw3 = start_gateway("tls", "-X", f"http.tls.cert.file={cert}", "-X", f"http.tls.key.file={key}")
    r = request(gw3, "GET", "/healthz", tls=True)
    check("TLS: healthz over HTTPS", r.status == 200)
    r = wait_state(gw3, done_id, {"completed"}, tls=True)
    check("TLS: goal status over HTTPS", r is not None)


def check_limits():
    gw4 = start_gateway("limits", "-X", "http.max.connections=2", "-X", "http.timeout.ms=3000")
    idle = socket.create_connection(gw4, timeout=15)
    t0 = time.time()
    closed = idle.recv(1) == b""  # the server closes an idle connection
    check("an idle connection is closed after http.timeout.ms", closed and time.time() - t0 < 14)
    held = [socket.create_connection(gw4, timeout=15) for _ in range(2)]
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)  # served; the connection stays open (keep-alive)
    extra = socket.create_connection(gw4, timeout=15)
    try:
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = extra.recv(4096) == b""
    except OSError:
        refused = True
    check("a connection past http.max.connections is refused", refused)
    for s in held + [extra, idle]:
        s.close()
    def healthy():
        try:
            return request(gw4, "GET", "/healthz", validate=False).status == 200
        except OSError:
            return False
    r = poll_until(healthy, 30)
    check("... and served again once connections are free", r)


def main():
    check_spec()
    gw = start_gateway("gateway")
    check_health(gw)
    sent = 0  # goals produced to passA, counted here independently of the code
    done_id = check_submit(gw)
    sent += 1
    check_idempotency(gw, done_id)
    sent += 1
    check_text(gw)
    check_bad_bodies(gw)
    sent += 1
    check_not_found(gw)
    check_report(gw, done_id)
    check_lists_and_console(gw, done_id)
    check_sse(gw)
    sent += 1
    fail_id = check_sync(gw)
    sent += 3  # ok, failing, slow; the no-worker goal never reaches passA
    check_dlq(gw, fail_id)
    check_metrics(gw)
    check_sent_once(gw, sent)
    check_replica_auth_cors(done_id, fail_id)
    check_tls(done_id)
    check_limits()


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                rc = p.wait(20)
                check(f"gateway {p.args[0].split('/')[-1]} (pid {p.pid}) exits 0 on SIGTERM",
                      rc == 0, rc)
            except subprocess.TimeoutExpired:
                p.kill()
                check("gateway exits on SIGTERM", False, "killed")
        print(f"{passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)
