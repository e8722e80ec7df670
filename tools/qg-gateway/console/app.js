// The QueryGoal console: plain JavaScript against the gateway's /api/v1 (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
let current = null; // goal id shown
let stream = null;  // AbortController of the event stream

function authHeaders(extra) {
  const h = Object.assign({}, extra || {});
  const t = $("token").value.trim();
  if (t) h.Authorization = "Bearer " + t;
  return h;
}

async function api(method, path, body) {
  const opts = { method, headers: authHeaders(body ? { "Content-Type": "application/json" } : {}) };
  if (body) opts.body = JSON.stringify(body);
  const r = await fetch(path, opts);
  const type = r.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok && r.status !== 409) {
    const msg = data && data.detail ? data.detail : (data.title || r.statusText);
    throw new Error(r.status + " " + msg);
  }
  return { status: r.status, data };
}

function text(el, s) { el.textContent = s == null ? "" : String(s); }

function humanSeconds(s) {
  if (!(s >= 0)) return "n/a";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(1)} s`;
}

function confidenceWords(c) {
  const pct = Math.round(c * 100);
  const words = c >= 0.9 ? "very likely" : c >= 0.75 ? "likely" : c >= 0.5 ? "about even" : c >= 0.25 ? "unlikely" : "very unlikely";
  return `${words} (${pct} % of simulated futures meet the promise)`;
}

// The answer's confidence in words: a probability, or why there is none.
function confidenceText(out) {
  const promise = out.promiseStatement ? ` ${out.promiseStatement}.` : "";
  if (typeof out.confidence === "number") return confidenceWords(out.confidence) + promise;
  if (out.confidenceBasis === "deterministic")
    return "none: the plant data carries no spread or breakdowns, so the estimate is deterministic and no probability is given";
  return "n/a";
}

// ---------- the goal being followed ----------

function showGoal(id, pipeline) {
  current = id;
  $("goal-section").hidden = false;
  text($("goal-id"), id);
  setStatus("queued");
  $("answer").hidden = true;
  $("failure").hidden = true;
  $("report-link").hidden = true;
  $("sim-progress").hidden = true;
  const ol = $("stages");
  ol.replaceChildren();
  for (const s of pipeline || []) addStage(s);
}

function addStage(name) {
  let li = document.querySelector(`#stages li[data-stage="${CSS.escape(name)}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.stage = name;
    text(li, name);
    $("stages").appendChild(li);
  }
  return li;
}

function setStatus(s) {
  const b = $("goal-status");
  text(b, s);
  b.className = "badge " + s;
}

function onProgress(ev) {
  if (!ev.stage) return;
  const li = addStage(ev.stage);
  if (ev.state === "started" || ev.state === "completed" || ev.state === "failed") li.className = ev.state;
  else if (!li.className) li.className = "started";
  if (ev.state === "progress" || typeof ev.progress === "number") {
    $("sim-progress").hidden = false;
    const frac = typeof ev.progress === "number" ? ev.progress : 0;
    $("sim-bar").style.width = Math.round(frac * 100) + "%";
    const parts = [`${ev.stage}: ${ev.phase || ev.state}`, `${Math.round(frac * 100)} %`];
    if (ev.generation != null) parts.push(`generation ${ev.generation}`);
    if (ev.replications != null) parts.push(`replications ${ev.replications}/${ev.replicationsTotal}`);
    text($("sim-text"), parts.join(" · "));
  }
}

async function onFinal(status) {
  setStatus(status.status);
  if (status.status === "completed" || status.status === "failed") {
    $("sim-bar").style.width = status.status === "completed" ? "100%" : $("sim-bar").style.width;
    const r = await api("GET", `/api/v1/goals/${encodeURIComponent(status.goalId)}`);
    render(r.data);
    loadLists();
  }
}

// Server-Sent Events read with fetch, so that the bearer token can be sent.
async function follow(id) {
  if (stream) stream.abort();
  stream = new AbortController();
  const r = await fetch(`/api/v1/goals/${encodeURIComponent(id)}/events`, { headers: authHeaders(), signal: stream.signal });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (!data || id !== current) continue;
      const obj = JSON.parse(data);
      if (name === "progress") onProgress(obj);
      else if (name === "status") {
        setStatus(obj.status);
        if (obj.status === "completed" || obj.status === "failed") await onFinal(obj);
      }
    }
  }
}

function render(st) {
  setStatus(st.status);
  const log = st.goal && st.goal.executionLog;
  for (const e of (log && log.stages) || []) addStage(e.stage).className = e.status;
  if (st.links && st.links.report) {
    const a = $("report-link");
    a.href = st.links.report;
    a.hidden = false;
  }
  if (st.status === "failed" && st.failure) {
    $("failure").hidden = false;
    text($("failure"), `Failed at ${st.failure.stage} (${st.failure.class}): ${st.failure.reason}`);
    addStage(st.failure.stage).className = "failed";
  }
  const out = st.goal && st.goal.QueryGoal && st.goal.QueryGoal.outputs;
  if (st.status !== "completed" || !out) return;
  $("answer").hidden = false;
  text($("estimate"), `Estimated time: ${humanSeconds(out.estimatedTime)} (${Math.round(out.estimatedTime)} s)`);
  const p = out.percentiles || {};
  text($("range"), p.p10 != null ? `${humanSeconds(p.p10)} – ${humanSeconds(p.p90)}` : "n/a");
  text($("confidence"), confidenceText(out));
  const ol = $("bottlenecks");
  ol.replaceChildren();
  for (const b of (out.bottlenecks || []).slice(0, 5)) {
    const li = document.createElement("li");
    const u = b.utilization <= 1 ? b.utilization * 100 : b.utilization;
    text(li, `${b.machine}: utilization ${Math.round(u)} %`);
    ol.appendChild(li);
  }
  drawGantt(out.productionPlan);
}

function planOps(plan) {
  if (Array.isArray(plan)) return plan;
  if (plan && Array.isArray(plan.operations)) return plan.operations;
  return [];
}

function drawGantt(plan) {
  const ops = planOps(plan).slice(0, 5000);
  const host = $("gantt");
  host.replaceChildren();
  if (!ops.length) { text(host, "no plan"); return; }
  const machines = [...new Set(ops.map((o) => o.machine))].sort();
  const end = Math.max(...ops.map((o) => o.end)) || 1;
  const W = 1000, row = 22, left = 60, H = machines.length * row + 24;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  machines.forEach((m, i) => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", 4); t.setAttribute("y", i * row + 15);
    t.textContent = m;
    svg.appendChild(t);
  });
  for (const o of ops) {
    const r = document.createElementNS(NS, "rect");
    const x = left + (o.start / end) * (W - left - 10);
    r.setAttribute("x", x.toFixed(1));
    r.setAttribute("y", machines.indexOf(o.machine) * row + 3);
    r.setAttribute("width", Math.max(1, ((o.end - o.start) / end) * (W - left - 10)).toFixed(1));
    r.setAttribute("height", row - 6);
    r.setAttribute("class", "op" + (o.order ? " order" : ""));
    const title = document.createElementNS(NS, "title");
    title.textContent = `${o.job} ${o.operation} on ${o.machine}: ${o.start}–${o.end} s`;
    r.appendChild(title);
    svg.appendChild(r);
  }
  const axis = document.createElementNS(NS, "text");
  axis.setAttribute("x", W - 150); axis.setAttribute("y", H - 6);
  axis.textContent = `0 – ${humanSeconds(end)}`;
  svg.appendChild(axis);
  host.appendChild(svg);
}

async function open(id) {
  const r = await api("GET", `/api/v1/goals/${encodeURIComponent(id)}`);
  const pipeline = r.data.goal ? r.data.goal.QueryGoal.metadata.pipelineStages : [];
  showGoal(id, pipeline);
  render(r.data);
  if (r.data.status !== "completed" && r.data.status !== "failed") follow(id).catch(() => {});
}

// ---------- asking ----------

async function ask(ev) {
  ev.preventDefault();
  $("ask-error").hidden = true;
  $("submit").disabled = true;
  try {
    const r = await api("POST", "/api/v1/goals", { text: $("question").value.trim(), language: $("language").value });
    showGoal(r.data.goalId, []);
    if (r.data.stage) addStage(r.data.stage);
    setStatus(r.data.status);
    follow(r.data.goalId).catch((e) => { if (e.name !== "AbortError") showError(e); });
    loadLists();
  } catch (e) {
    showError(e);
  } finally {
    $("submit").disabled = false;
  }
}

function showError(e) {
  $("ask-error").hidden = false;
  text($("ask-error"), e.message);
}

// ---------- lists ----------

function cell(tr, value, cls) {
  const td = document.createElement("td");
  text(td, value);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

async function loadLists() {
  try {
    const [recent, dlq] = await Promise.all([api("GET", "/api/v1/goals?limit=20"), api("GET", "/api/v1/dlq?limit=50")]);
    const rb = document.querySelector("#recent tbody");
    rb.replaceChildren();
    for (const g of recent.data.items) {
      const tr = document.createElement("tr");
      tr.className = "clickable";
      tr.dataset.goal = g.goalId;
      cell(tr, g.goalId);
      cell(tr, g.goalType || "");
      cell(tr, g.status);
      cell(tr, g.stage || "");
      cell(tr, g.updatedAt);
      tr.addEventListener("click", () => open(g.goalId).catch(showError));
      rb.appendChild(tr);
    }
    const db = document.querySelector("#dlq tbody");
    db.replaceChildren();
    for (const g of dlq.data.items) {
      const tr = document.createElement("tr");
      tr.dataset.goal = g.goalId;
      cell(tr, g.goalId);
      cell(tr, g.failure.class);
      cell(tr, g.failure.stage);
      cell(tr, g.failure.reason, "reason");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "replay";
      text(b, "Replay");
      b.addEventListener("click", async () => {
        try {
          await api("POST", `/api/v1/dlq/${encodeURIComponent(g.goalId)}/replay`);
          await open(g.goalId);
          loadLists();
        } catch (e) { showError(e); }
      });
      const td = document.createElement("td");
      td.appendChild(b);
      tr.appendChild(td);
      db.appendChild(tr);
    }
  } catch (e) {
    showError(e);
  }
}

// ---------- start ----------

$("token").value = sessionStorage.getItem("qg-token") || "";
$("token").addEventListener("change", () => { sessionStorage.setItem("qg-token", $("token").value); loadLists(); });
$("ask").addEventListener("submit", ask);
$("refresh").addEventListener("click", loadLists);
for (const b of document.querySelectorAll("button.example")) {
  b.addEventListener("click", () => { $("question").value = b.dataset.text; $("language").value = b.dataset.lang; });
}
$("report-link").addEventListener("click", async (ev) => {
  if (!$("token").value.trim()) return; // a plain link works without auth
  ev.preventDefault();
  const r = await fetch($("report-link").getAttribute("href"), { headers: authHeaders() });
  const url = URL.createObjectURL(new Blob([await r.text()], { type: "text/html" }));
  window.open(url, "_blank");
});
loadLists();
setInterval(loadLists, 5000);
