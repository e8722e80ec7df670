"""The web console in headless Chromium (Selenium + Debian's chromium-driver),
against `scripts/demo --serve` (real workers, AAS server, embedded broker):
ask the seed question, watch the stage progress arrive, check the answer on the
page against the goal the API returns, open the report, find a dead letter
and replay it. Screenshots go to $GW_LOGDIR. Prints "N passed, N failed".
"""
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CONSOLE = os.environ["GW_CONSOLE"]  # http://127.0.0.1:PORT/console/
BASE = CONSOLE.rsplit("/console/", 1)[0]
LOGDIR = os.environ["GW_LOGDIR"]
passed = failed = 0


def check(what, cond, info=""):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "not ok - ") + what + ("" if cond else f" {info}"))
    sys.stdout.flush()
    return cond


def poll(fn, timeout, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = fn()
        except Exception:  # noqa: BLE001 - the page may be mid-update
            v = None
        if v:
            return v
        time.sleep(interval)
    return None


def get_json(path):
    with urllib.request.urlopen(BASE + path, timeout=30) as r:
        return json.loads(r.read())


def post_json(path, body):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1280,1400",
              f"--user-data-dir={os.path.join(LOGDIR, 'chromium-profile')}"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def human(s):
    """The console's humanSeconds, written again from its definition."""
    d, h, m = int(s // 86400), int((s % 86400) // 3600), int((s % 3600) // 60)
    if d > 0:
        return f"{d}d {h}h"
    if h > 0:
        return f"{h}h {m:02d}m"
    if m > 0:
        return f"{m}m {round(s % 60):02d}s"
    return f"{s:.1f} s"


def ask_seed_question(drv):
    drv.get(CONSOLE)
    check("the console loads (title)", "QueryGoal console" in drv.title, drv.title)
    drv.find_element(By.CSS_SELECTOR, "button.example[data-lang=en]").click()
    question = drv.find_element(By.ID, "question").get_attribute("value")
    check("the example fills the question box", "P-1001" in question, question)
    drv.find_element(By.ID, "submit").click()
    gid = poll(lambda: drv.find_element(By.ID, "goal-id").text, 30)
    check("asking shows the new goal id", bool(gid))
    seen = set()

    def progressed():
        for li in drv.find_elements(By.CSS_SELECTOR, "#stages li"):
            if li.get_attribute("class") in ("started", "completed"):
                seen.add((li.get_attribute("data-stage"), li.get_attribute("class")))
        bar = drv.find_element(By.ID, "sim-bar").get_attribute("style") or ""
        if "width" in bar and "width: 0" not in bar:
            seen.add(("simulation", "bar"))
        return drv.find_element(By.ID, "goal-status").text in ("completed", "failed")

    poll(progressed, 300, 0.05)
    drv.save_screenshot(os.path.join(LOGDIR, "console-answer.png"))
    check("stage progress arrived live (a stage shown started before the end)",
          any(c == "started" for _, c in seen) or ("simulation", "bar") in seen, seen)
    check("the simulation's progress bar moved", ("simulation", "bar") in seen, seen)
    status = drv.find_element(By.ID, "goal-status").text
    check("the goal completed", status == "completed", status)
    return gid


def check_answer(drv, gid):
    st = get_json(f"/api/v1/goals/{gid}")
    out = st["goal"]["QueryGoal"]["outputs"]
    est = drv.find_element(By.ID, "estimate").text
    want = f"Estimated time: {human(out['estimatedTime'])} ({round(out['estimatedTime'])} s)"
    check("the answer on the page is the goal's estimatedTime", est == want, (est, want))
    conf = drv.find_element(By.ID, "confidence").text
    if out.get("confidence") is None:
        check("no confidence in words: deterministic, so no probability",
              out.get("confidenceBasis") == "deterministic" and "deterministic" in conf
              and "no probability" in conf, conf)
    else:
        check("confidence in words with its percentage",
              f"{round(out['confidence'] * 100)} %" in conf and ("likely" in conf or "even" in conf),
              conf)
    rows = drv.find_elements(By.CSS_SELECTOR, "#bottlenecks li")
    check("the bottlenecks are listed, top one first",
          rows and rows[0].text.startswith(out["bottlenecks"][0]["machine"] + ":"),
          [r.text for r in rows])
    plan = out["productionPlan"]
    ops = plan if isinstance(plan, list) else plan["operations"]
    rects = drv.find_elements(By.CSS_SELECTOR, "#gantt rect.op")
    check("the Gantt chart has one bar per operation", len(rects) == min(len(ops), 5000),
          (len(rects), len(ops)))
    link = drv.find_element(By.ID, "report-link")
    check("the report link is shown", link.is_displayed()
          and link.get_attribute("href").endswith(f"/api/v1/goals/{gid}/report"))
    drv.get(link.get_attribute("href"))
    check("the report opens and names the goal", gid in drv.page_source)
    drv.save_screenshot(os.path.join(LOGDIR, "console-report.png"))


def check_recent_and_dlq(drv, gid):
    bad = post_json("/api/v1/goals", {"text": "Predict production time for product P-9999 quantity 5"})
    bad_id = bad["goalId"]
    dead = poll(lambda: get_json(f"/api/v1/goals/{bad_id}")["status"] == "failed", 180, 0.5)
    check("a goal for an unknown product is dead-lettered", dead)
    drv.get(CONSOLE)
    row = poll(lambda: drv.find_element(By.CSS_SELECTOR, f'#recent tr[data-goal="{gid}"]'), 30)
    check("the recent goals list shows the asked goal", row is not None)
    drow = poll(lambda: drv.find_element(By.CSS_SELECTOR, f'#dlq tr[data-goal="{bad_id}"]'), 30)
    check("the DLQ table shows the dead letter with its class", drow is not None and any(
        c in drow.text for c in ("stage_error", "bad_input", "gate_failed", "transient_exhausted")))
    drv.save_screenshot(os.path.join(LOGDIR, "console-dlq.png"))
    if drow is None:
        return
    before = get_json(f"/api/v1/goals/{bad_id}")["updatedAt"]
    drow.find_element(By.CSS_SELECTOR, "button.replay").click()
    shown = poll(lambda: drv.find_element(By.ID, "goal-id").text == bad_id, 30)
    check("Replay opens the goal", shown)
    replayed = poll(lambda: get_json(f"/api/v1/goals/{bad_id}")["updatedAt"] != before, 60, 0.2)
    check("Replay sent it back (its state changed in Kafka)", replayed)


def main():
    drv = browser()
    try:
        gid = ask_seed_question(drv)
        check_answer(drv, gid)
        check_recent_and_dlq(drv, gid)
    finally:
        drv.quit()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
