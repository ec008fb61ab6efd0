// The live prompt-tuning panel: one ES module, no build step, nothing fetched.
// The run's start arrives in the synced state (state.start); then the kernel sends {seq, t, best, progress, cands, status}
// (tune_state.py); candidates arrive once each, with the word diff already rendered (escaped)
// in the kernel. When the run ends the kernel replaces this view with static HTML and a PNG.

const fmt = (x) => (x == null ? "–" : Number(x).toFixed(3));
const STATES = new WeakMap();

function emptyState(model) {
  const s = model.get("state") || {};
  return { name: s.name || "tuning", status: s.status || "starting", kernelId: s.kernel_id || null, info: {},
           progress: { round: 0, calls: 0, projected: 0, doing: "starting" }, candidates: [], best: 0,
           stopped: "", views: new Set() };
}

// The synced state holds every candidate scored so far (custom messages sent while this
// module was loading are lost); it is taken when it knows more than the messages did.
function applyStartState(st, s) {
  st.info = s; st.name = s.name || st.name;
  if ((s.candidates || []).length >= st.candidates.length) {
    st.candidates = (s.candidates || []).slice(); st.best = s.best || 0;
  }
  if (st.status === "starting") { st.status = s.status || "running"; st.progress = s.progress || st.progress; }
}

function apply(st, msg) {
  if (msg.progress) st.progress = msg.progress;
  for (const c of msg.cands || []) if (!st.candidates.some((x) => x.index === c.index)) st.candidates.push(c);
  if (msg.best != null) st.best = msg.best;
  if (msg.status) { st.status = msg.status; st.stopped = msg.stopped || ""; }
}

function curve(st) {
  const W = 320, H = 120, P = 24, cs = st.candidates;
  if (!cs.length) return "";
  const n = Math.max(1, cs[cs.length - 1].index);
  const x = (i) => P + ((W - 2 * P) * i) / n, y = (v) => H - P - (H - 2 * P) * (v ?? 0);
  let best = null, path = "";
  for (const c of cs) {
    if (c.val != null && (best == null || c.val > best)) best = c.val;
    path += `${path ? "L" : "M"}${x(c.index).toFixed(1)},${y(best).toFixed(1)}`;
  }
  const dots = cs.map((c) => `<circle cx="${x(c.index)}" cy="${y(c.train)}" r="2.5" fill="#8c959f"><title>#${c.index} train ${fmt(c.train)}</title></circle>` +
    (c.val != null ? `<circle cx="${x(c.index)}" cy="${y(c.val)}" r="3.5" fill="#0969da"><title>#${c.index} validation ${fmt(c.val)}</title></circle>` : "")).join("");
  return `<svg class="wb-curve" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<line x1="${P}" y1="${y(0)}" x2="${W - P}" y2="${y(0)}" stroke="#d0d7de"/><line x1="${P}" y1="${y(1)}" x2="${W - P}" y2="${y(1)}" stroke="#eaeef2"/>` +
    `<text x="2" y="${y(1) + 3}">1</text><text x="2" y="${y(0) + 3}">0</text>` +
    `<path d="${path}" fill="none" stroke="#1a7f37" stroke-width="1.5"/>${dots}` +
    `<text x="${W - P}" y="${H - 6}" text-anchor="end">candidate · grey train, blue validation, green best</text></svg>`;
}

function renderView(st, view) {
  const { el } = view;
  el.dataset.status = st.status;
  el.dataset.candidates = String(st.candidates.length);
  const p = st.progress, pct = p.projected ? Math.min(100, (100 * p.calls) / p.projected) : 0;
  const left = p.projected ? Math.max(0, p.projected - p.calls) : null;
  view.head.innerHTML = `<b>prompt tuning</b> ${esc(st.name)} · ${esc(st.info.model || "")} · ` +
    `${st.info.train_rows ?? "?"} training / ${st.info.val_rows ?? "?"} validation rows · ` +
    `<span class="wb-status">${esc(st.status === "running" ? "running…" : st.status + (st.stopped ? ": " + st.stopped : ""))}</span>`;
  view.progress.innerHTML = `<span class="wb-bar"><span style="width:${pct}%"></span></span>` +
    `<span>round ${p.round} · ${p.calls} of ${p.projected} projected calls${left != null ? ` (${left} left)` : ""}` +
    `${st.info.budget_calls ? ` · budget ${st.info.budget_calls}` : ""} · ${esc(p.doing)}</span>`;
  const rows = st.candidates.map((c) => `<tr class="wb-cand${c.index === st.best ? " wb-is-best" : ""}">` +
    `<td>${c.index}</td><td>${c.parent ?? "–"}</td><td>${c.round}</td><td>${fmt(c.train)}</td><td>${fmt(c.val)}</td>` +
    `<td>${c.tokens}</td><td>${c.version ?? "–"}</td><td class="wb-cand-prompt" title="${esc(c.prompt)}">${esc(c.prompt)}</td></tr>`).join("");
  view.table.innerHTML = `<tr><th>#</th><th>parent</th><th>round</th><th>train</th><th>validation</th><th>tokens</th>` +
    `<th>version</th><th>prompt</th></tr>` + (rows || `<tr><td colspan="8" class="wb-hint">scoring the initial prompt…</td></tr>`);
  view.curve.innerHTML = curve(st);
  const best = st.candidates.find((c) => c.index === st.best);
  view.best.innerHTML = best ? `<div><b>best prompt</b>: candidate ${best.index} (validation ${fmt(best.val)})` +
    `${best.parent != null ? `, changes against candidate ${best.parent}` : ""}</div><pre class="wb-best-prompt">${best.diff}</pre>` +
    (best.worst.length ? `<div class="wb-worst"><b>its worst training rows</b><ul>` + best.worst.map((r) =>
      `<li><code>${esc(r.sample_id)}</code> score ${fmt(r.score)}: ${esc(r.error || r.output)}${r.feedback ? " · " + esc(r.feedback) : ""}</li>`).join("") + "</ul></div>" : "") : "";
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
  model.on("msg:custom", (msg) => { apply(st, msg); schedule(st); });
}

function render({ model, el }) {
  let st = STATES.get(model);
  if (!st) { initialize({ model }); st = STATES.get(model); }
  el.classList.add("wb-tune");
  el.innerHTML = `<div class="wb-tune-head"></div><div class="wb-tune-progress"></div>` +
    `<div><button type="button" class="wb-stop">Stop</button></div>` +
    `<div class="wb-tune-body"><table class="wb-candidates"></table><div class="wb-curve-box"></div></div>` +
    `<div class="wb-best"></div>`;
  const view = { el, head: el.querySelector(".wb-tune-head"), progress: el.querySelector(".wb-tune-progress"),
                 table: el.querySelector(".wb-candidates"), curve: el.querySelector(".wb-curve-box"),
                 best: el.querySelector(".wb-best"), stop: el.querySelector(".wb-stop") };
  view.stop.addEventListener("click", () => {
    view.stop.disabled = true; view.stop.textContent = "Stopping…";
    interruptKernel(st.kernelId).catch(() => { view.stop.textContent = "Stop failed: use Kernel > Interrupt"; });
  });
  st.views.add(view);
  renderView(st, view);
  return () => st.views.delete(view);
}

export default { initialize, render };
