// The stream view: one ES module, no build step, nothing fetched.
// The kernel sends {seq, ops:[{lane, field, append|tool|footer}]} as custom messages while a
// model streams, and sets the full final state as the `state` traitlet at the end. A gap in
// seq asks the kernel for the full state again ({type: "resync"}).

// ---- a tiny, safe Markdown renderer: HTML is escaped first, links must be http(s) ----------
function esc(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
          .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function inline(s) {
  // s is already escaped; code spans first so their content is left alone
  const codes = [];
  s = s.replace(/`([^`]+)`/g, (_, c) => { codes.push(c); return "\u0000" + (codes.length - 1) + "\u0000"; });
  s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
       .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
       .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g,
                '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => "<code>" + codes[+i] + "</code>");
}

export function renderMarkdown(src) {
  const lines = esc(src || "").split("\n");
  const out = [];
  let para = [], list = null, inCode = false, code = [];
  const endPara = () => { if (para.length) { out.push("<p>" + inline(para.join(" ")) + "</p>"); para = []; } };
  const endList = () => { if (list) { out.push("</" + list + ">"); list = null; } };
  for (const line of lines) {
    if (inCode) {
      if (/^\s*```/.test(line)) { out.push("<pre><code>" + code.join("\n") + "</code></pre>"); inCode = false; code = []; }
      else code.push(line);
      continue;
    }
    let m;
    if (/^\s*```/.test(line)) { endPara(); endList(); inCode = true; continue; }
    if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
      endPara(); endList(); out.push(`<h${m[1].length + 2}>${inline(m[2])}</h${m[1].length + 2}>`); continue;
    }
    if ((m = line.match(/^\s*[-*+]\s+(.*)$/)) || (m = line.match(/^\s*\d+[.)]\s+(.*)$/))) {
      const kind = /^\s*\d/.test(line) ? "ol" : "ul";
      endPara(); if (list !== kind) { endList(); out.push("<" + kind + ">"); list = kind; }
      out.push("<li>" + inline(m[1]) + "</li>"); continue;
    }
    if ((m = line.match(/^&gt;\s?(.*)$/))) { endPara(); endList(); out.push("<blockquote>" + inline(m[1]) + "</blockquote>"); continue; }
    if (!line.trim()) { endPara(); endList(); continue; }
    endList(); para.push(line);
  }
  if (inCode) out.push("<pre><code>" + code.join("\n") + "</code></pre>");  // still streaming
  endPara(); endList();
  return out.join("");
}

// ---- state kept per widget model (views come and go; the model outlives them) ------------
const STATES = new WeakMap();

function emptyState(model) {
  const s = model.get("state") || {};
  return { lastSeq: 0, waiting: false, status: s.status || "streaming", model: s.model || "",
           lanes: new Map(), footer: s.footer || {}, views: new Set(), error: s.error || "",
           render: s.render || "markdown" };
}

function lane(st, name) {
  if (!st.lanes.has(name)) st.lanes.set(name, { name, thinking: "", text: "", tools: [] });
  return st.lanes.get(name);
}

function loadFull(st, full) {
  st.lanes = new Map();
  for (const l of full.lanes || []) st.lanes.set(l.name, { name: l.name, thinking: l.thinking || "",
                                                           text: l.text || "", tools: l.tools || [] });
  st.status = full.status || st.status; st.model = full.model || st.model;
  st.footer = full.footer || st.footer; st.error = full.error || "";
  st.checkpoint = full.checkpoint || null;
  st.render = full.render || st.render;
}

function applyOp(st, op) {
  const l = lane(st, op.lane || "");
  if (op.field === "text" || op.field === "thinking") l[op.field] += op.append;
  else if (op.field === "tool") {
    const i = l.tools.findIndex((t) => t.id === op.tool.id);
    if (i >= 0) l.tools[i] = op.tool; else l.tools.push(op.tool);
  } else if (op.field === "meta") st.footer = op.footer;
}

function fmtFooter(st) {
  const f = st.footer || {};
  const parts = [f.model || st.model || "model ?"];
  if (f.input_tokens != null) parts.push(`${f.input_tokens} in / ${f.output_tokens} out tokens`);
  else if (f.output_tokens != null) parts.push(`${f.estimated ? "~" : ""}${f.output_tokens} tokens`);
  if (f.elapsed_s != null) parts.push(`${Number(f.elapsed_s).toFixed(2)} s`);
  if (f.tokens_per_s) parts.push(`${Number(f.tokens_per_s).toFixed(1)} tok/s`);
  const status = st.status === "streaming" ? "streaming…" : st.status;
  if (status !== "done") parts.push(status + (st.error ? ": " + st.error : ""));
  return parts.join(" · ");
}

// ---- rendering ----------------------------------------------------------------------------
function renderView(st, view) {
  const { el } = view;
  const multi = st.lanes.size > 1;
  for (const l of st.lanes.values()) {
    let box = view.boxes.get(l.name);
    if (!box) {
      box = document.createElement("div"); box.className = "wb-lane";
      box.innerHTML = '<div class="wb-lane-name"></div><details class="wb-thinking" open>' +
        '<summary>Thinking</summary><div class="wb-thinking-body"></div></details>' +
        '<ol class="wb-tools"></ol><div class="wb-answer"></div>';
      el.insertBefore(box, view.footer);
      view.boxes.set(l.name, box);
      box.seenText = false;
    }
    const name = box.querySelector(".wb-lane-name");
    name.textContent = l.name; name.style.display = multi || l.name ? "" : "none";
    const det = box.querySelector(".wb-thinking");
    det.style.display = l.thinking ? "" : "none";
    box.querySelector(".wb-thinking-body").textContent = l.thinking;
    // open while the model thinks, folded once the answer starts (once: the user may reopen it)
    if (l.text && !box.seenText) { det.open = false; box.seenText = true; }
    det.querySelector("summary").textContent = l.text || st.status !== "streaming" ? "Thinking" : "Thinking…";
    const tools = box.querySelector(".wb-tools");
    tools.style.display = l.tools.length ? "" : "none";
    tools.innerHTML = l.tools.map((t) => {
      const args = typeof t.arguments === "string" ? t.arguments : JSON.stringify(t.arguments ?? {});
      const result = t.result == null ? "" :
        `<details class="wb-tool-result"><summary>result</summary><pre>${esc(String(t.result))}</pre></details>`;
      return `<li class="wb-tool wb-tool-${esc(t.status)}"><span class="wb-tool-status">${esc(t.status)}</span> ` +
             `<code>${esc(t.name)}(${esc(args)})</code>${result}</li>`;
    }).join("");
    const answer = box.querySelector(".wb-answer");
    if (answer.dataset.len !== String(l.text.length)) {
      answer.innerHTML = st.render === "text" ? `<pre class="wb-text">${esc(l.text)}</pre>` : renderMarkdown(l.text);
      answer.dataset.len = String(l.text.length);
    }
  }
  view.footer.textContent = fmtFooter(st);
  el.dataset.status = st.status;
  if (st.checkpoint && st.checkpoint.path) {
    view.note.style.display = "";
    view.note.textContent = `Saved checkpoint ${st.checkpoint.path}` +
      (st.checkpoint.resume_code ? " — the next cell restores and resumes it." : "");
  }
}

function schedule(st) {
  if (st.frame) return;
  const raf = globalThis.requestAnimationFrame || ((f) => setTimeout(f, 16));
  st.frame = raf(() => { st.frame = null; for (const v of st.views) renderView(st, v); });
}

function initialize({ model }) {
  const st = emptyState(model);
  STATES.set(model, st);
  const full = model.get("state");
  if (full && full.lanes) loadFull(st, full);
  model.on("msg:custom", (msg) => {
    if (msg.full) { loadFull(st, msg.full); st.lastSeq = msg.seq; st.waiting = false; schedule(st); return; }
    if (typeof msg.seq !== "number") return;
    if (st.waiting) return;                       // a full state is on its way
    if (msg.seq !== st.lastSeq + 1) { st.waiting = true; model.send({ type: "resync", have: st.lastSeq }); return; }
    st.lastSeq = msg.seq;
    for (const op of msg.ops || []) applyOp(st, op);
    schedule(st);
  });
  model.on("change:state", () => {
    const s = model.get("state");
    if (s && s.lanes) { loadFull(st, s); st.waiting = false; schedule(st); }
  });
}

function render({ model, el }) {
  let st = STATES.get(model);
  if (!st) { initialize({ model }); st = STATES.get(model); }
  el.classList.add("wb-stream");
  const footer = document.createElement("div"); footer.className = "wb-footer";
  const note = document.createElement("div"); note.className = "wb-checkpoint"; note.style.display = "none";
  el.appendChild(footer); el.appendChild(note);
  const view = { el, footer, note, boxes: new Map() };
  st.views.add(view);
  renderView(st, view);
  return () => st.views.delete(view);
}

export default { initialize, render };
