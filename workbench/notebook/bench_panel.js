// The live benchmark panel: one ES module, no build step, nothing fetched.
// The run's start arrives in the synced state (state.start); then the kernel sends {seq, t, g: {group: tally}, r: [rows],
// status} at most a few dozen times a second (bench_state.py documents the packing). Counts
// are absolute in every message, so a lost message costs only some sample rows.
// When the run ends the kernel replaces this view with static HTML and a PNG of the plots.

const KEEP_ROWS = 300;
const T = { done: 0, errors: 1, hits: 2, scored: 3, mean: 4, low: 5, high: 6, passed: 7, tin: 8, tout: 9, cost: 10 };
const R = { group: 0, sample: 1, epoch: 2, version: 3, score: 4, passed: 5, ms: 6, output: 7, error: 8, feedback: 9 };

const STATES = new WeakMap();

function emptyState(model) {
  const s = model.get("state") || {};
  return { name: s.name || "benchmark", runId: "", status: s.status || "starting", kernelId: s.kernel_id || null,
           groups: [], totals: [], tallies: {}, rows: [], t: 0, tAt: Date.now(), views: new Set(), seq: 0,
           skipped: 0, store: null, rowsSeen: 0 };
}

function applyStart(st, start) {
  st.runId = start.run_id; st.name = start.name || st.name; st.groups = start.groups || [];
  st.totals = start.totals || []; st.tallies = start.tallies || {}; st.skipped = start.skipped || 0;
  st.store = start.store || null; st.status = start.status || "running"; st.t = start.t || 0; st.tAt = Date.now();
}

// the start arrives in the synced state; messages sent while this module was loading are
// lost, so a later start never goes back on counts already newer
function applyStartState(st, start) {
  if (st.runId === start.run_id) return;
  applyStart(st, start);
}

function applyMessage(st, msg) {
  st.seq = msg.seq;
  if (msg.t != null) { st.t = msg.t; st.tAt = Date.now(); }
  for (const [g, tally] of Object.entries(msg.g || {})) st.tallies[g] = tally;
  for (const row of msg.r || []) { st.rows.push(row); st.rowsSeen++; }
  if (st.rows.length > KEEP_ROWS) st.rows.splice(0, st.rows.length - KEEP_ROWS);
  if (msg.status) st.status = msg.status;
}

function elapsed(st) {
  return st.t + (st.status === "running" ? (Date.now() - st.tAt) / 1000 : 0);
}

function fmtTime(s) {
  if (!isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - 60 * m)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function fmtNum(x, d = 3) { return x == null ? "–" : Number(x).toFixed(d); }

// ---- rendering ---------------------------------------------------------------------------
function groupRow(st, i) {
  const tally = st.tallies[String(i)] || [0, 0, 0, 0, null, null, null, 0, 0, 0, null];
  const total = st.totals[i] || 0, done = tally[T.done];
  const pct = (n) => (total ? (100 * n) / total : 0);
  const ok = done - tally[T.errors];
  const secs = elapsed(st);
  const rate = secs > 0 ? done / secs : 0;
  const eta = rate > 0 && done < total && st.status === "running" ? fmtTime((total - done) / rate) : "";
  let score = "–", ci = "";
  if (tally[T.mean] != null) {
    score = fmtNum(tally[T.mean]);
    if (tally[T.low] != null) {
      score += ` [${fmtNum(tally[T.low])}, ${fmtNum(tally[T.high])}]`;
      const lo = Math.max(0, Math.min(1, tally[T.low])), hi = Math.max(0, Math.min(1, tally[T.high]));
      ci = `<span class="wb-ci"><span class="wb-ci-range" style="left:${100 * lo}%;width:${100 * (hi - lo)}%"></span>` +
           `<span class="wb-ci-mean" style="left:${100 * Math.max(0, Math.min(1, tally[T.mean]))}%"></span></span>`;
    }
  }
  const passRate = tally[T.scored] ? ` · pass ${((100 * tally[T.passed]) / tally[T.scored]).toFixed(1)}%` : "";
  const cost = tally[T.cost] != null ? ` · $${Number(tally[T.cost]).toFixed(4)}` : "";
  return `<div class="wb-group" data-group="${esc(st.groups[i])}">` +
    `<div class="wb-group-name">${esc(st.groups[i])}</div>` +
    `<div class="wb-bar" title="${done} of ${total} rows"><span class="wb-bar-ok" style="width:${pct(ok)}%"></span>` +
    `<span class="wb-bar-err" style="width:${pct(tally[T.errors])}%"></span></div>` +
    `<div class="wb-counts"><span class="wb-done">${done}/${total}</span> rows · ` +
    `<span class="wb-err-count${tally[T.errors] ? " wb-has-errors" : ""}">${tally[T.errors]} errors</span> · ` +
    `${tally[T.hits]} cached · ${rate.toFixed(1)} rows/s${eta ? " · ETA " + eta : ""}</div>` +
    `<div class="wb-score">score <b>${score}</b>${ci}${passRate}</div>` +
    `<div class="wb-tokens">${tally[T.tin]} in / ${tally[T.tout]} out tokens${cost}</div></div>`;
}

function shownRows(st, view) {
  let rows = st.rows.slice();
  const g = view.filter.value;
  if (g !== "") rows = rows.filter((r) => String(r[R.group]) === g);
  const mode = view.mode.value;
  if (mode === "errors") rows = rows.filter((r) => r[R.error] != null);
  if (mode === "worst") {
    const key = (r) => (r[R.error] != null ? -1 : r[R.score] == null ? 2 : r[R.score]);
    rows.sort((a, b) => key(a) - key(b));
  } else rows.reverse();
  return rows.slice(0, 100);
}

function rowHtml(st, r, open) {
  const kind = r[R.error] != null ? "error" : r[R.passed] ? "pass" : "fail";
  const id = `${r[R.group]}|${r[R.sample]}|${r[R.epoch]}|${r[R.version]}`;
  let out = `<tr class="wb-row wb-${kind}" data-key="${esc(id)}"><td>${esc(st.groups[r[R.group]])}</td>` +
    `<td><code>${esc(r[R.sample])}</code></td><td>${r[R.score] == null ? "–" : fmtNum(r[R.score], 2)}</td>` +
    `<td>${r[R.ms] == null ? "–" : r[R.ms] + " ms"}</td>` +
    `<td class="wb-out">${esc(r[R.error] != null ? r[R.error] : r[R.output])}</td></tr>`;
  if (open) {
    const bits = [["output", r[R.output]], ["feedback", r[R.feedback]], ["error", r[R.error]]]
      .filter(([, v]) => v != null && v !== "")
      .map(([k, v]) => `<div><b>${k}</b> <span>${esc(v)}</span></div>`).join("");
    out += `<tr class="wb-row-detail"><td colspan="5">${bits}<div class="wb-hint">` +
      (st.status === "running" ? "The full prompt, output and thinking open in the matrix when the run ends " +
        "(the kernel is busy running it)." : "") + `</div></td></tr>`;
  }
  return out;
}

function renderView(st, view) {
  const { el } = view;
  el.dataset.status = st.status;
  el.dataset.rows = String(st.groups.reduce((n, _, i) => n + ((st.tallies[String(i)] || [0])[T.done]), 0));
  const secs = elapsed(st);
  view.head.innerHTML = `<b>${esc(st.name)}</b> <code>${esc(st.runId)}</code> · ` +
    `<span class="wb-status">${esc(st.status === "running" ? "running…" : st.status)}</span> · ${fmtTime(secs)}` +
    (st.skipped ? ` · ${st.skipped} rows already stored (resumed)` : "");
  view.groups.innerHTML = st.groups.map((_, i) => groupRow(st, i)).join("");
  const options = [""].concat(st.groups.map((_, i) => String(i)));
  if (view.filter.options.length !== options.length) {
    view.filter.innerHTML = `<option value="">all models</option>` +
      st.groups.map((g, i) => `<option value="${i}">${esc(g)}</option>`).join("");
  }
  const rows = shownRows(st, view);
  view.table.innerHTML = `<tr><th>model</th><th>sample</th><th>score</th><th>latency</th><th>output / error</th></tr>` +
    (rows.length ? rows.map((r) => rowHtml(st, r, view.open.has(`${r[R.group]}|${r[R.sample]}|${r[R.epoch]}|${r[R.version]}`))).join("")
      : `<tr><td colspan="5" class="wb-empty">${st.status === "running" ? "waiting for the first rows…" : "no rows"}</td></tr>`);
  view.stop.style.display = st.status === "running" && st.kernelId ? "" : "none";
}

function schedule(st) {
  if (st.frame) return;
  const raf = globalThis.requestAnimationFrame || ((f) => setTimeout(f, 16));
  st.frame = raf(() => { st.frame = null; for (const v of st.views) renderView(st, v); });
}

function initialize({ model }) {
  const st = emptyState(model);
  STATES.set(model, st);
  const fromState = () => { const s = model.get("state") || {}; if (s.start) { applyStartState(st, s.start); schedule(st); } };
  fromState();
  model.on("change:state", fromState);
  model.on("msg:custom", (msg) => { applyMessage(st, msg); schedule(st); });
}

function render({ model, el }) {
  let st = STATES.get(model);
  if (!st) { initialize({ model }); st = STATES.get(model); }
  el.classList.add("wb-bench");
  el.innerHTML = `<div class="wb-bench-head"></div><div class="wb-groups"></div>` +
    `<div class="wb-controls"><button type="button" class="wb-stop">Stop</button>` +
    `<label>rows <select class="wb-mode"><option value="newest">newest first</option>` +
    `<option value="worst">worst first</option><option value="errors">errors only</option></select></label>` +
    `<label>model <select class="wb-filter"><option value="">all models</option></select></label></div>` +
    `<table class="wb-rows"></table>`;
  const view = { el, head: el.querySelector(".wb-bench-head"), groups: el.querySelector(".wb-groups"),
                 table: el.querySelector(".wb-rows"), mode: el.querySelector(".wb-mode"),
                 filter: el.querySelector(".wb-filter"), stop: el.querySelector(".wb-stop"), open: new Set() };
  view.stop.addEventListener("click", () => {
    view.stop.disabled = true; view.stop.textContent = "Stopping…";
    interruptKernel(st.kernelId).catch(() => { view.stop.textContent = "Stop failed: use Kernel > Interrupt"; });
  });
  view.mode.addEventListener("change", () => renderView(st, view));
  view.filter.addEventListener("change", () => renderView(st, view));
  view.table.addEventListener("click", (e) => {
    const tr = e.target.closest("tr.wb-row");
    if (!tr) return;
    const key = tr.dataset.key;
    if (view.open.has(key)) view.open.delete(key); else view.open.add(key);
    renderView(st, view);
  });
  st.views.add(view);
  renderView(st, view);
  const tick = setInterval(() => { if (st.status === "running") renderView(st, view); }, 500);
  return () => { clearInterval(tick); st.views.delete(view); };
}

export default { initialize, render };
