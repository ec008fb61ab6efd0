// The stream view: one ES module, no build step, nothing fetched.
// The kernel sends {seq, ops:[{lane, field, append|tool|footer}]} as custom messages while a
// model streams, and sets the full final state as the `state` traitlet at the end. A gap in
// seq asks the kernel for the full state again ({type: "resync"}).

// The answer's HTML is rendered in the kernel (markdown.py: the renderer of the saved output,
// with tables, MathML math and highlighted code; raw HTML escaped): settled blocks arrive
// once, the open tail again as it grows. Only text is escaped here (esc: widget_common.js).

// ---- state kept per widget model (views come and go; the model outlives them) ------------
const STATES = new WeakMap();

function emptyState(model) {
  const s = model.get("state") || {};
  return { lastSeq: 0, waiting: false, status: s.status || "streaming", model: s.model || "",
           lanes: new Map(), footer: s.footer || {}, views: new Set(), error: s.error || "",
           render: s.render || "markdown", kernelId: s.kernel_id || null, footerAt: Date.now() };
}

function newLane(name) {
  return { name, thinking: "", text: "", tools: [], images: [], settledHtml: "", settledLen: 0, tailHtml: "",
           tailLen: 0, settledVersion: 0 };
}

function lane(st, name) {
  if (!st.lanes.has(name)) st.lanes.set(name, newLane(name));
  return st.lanes.get(name);
}

function applyHtml(l, op) {
  if (op.reset) { l.settledHtml = ""; l.settledLen = 0; l.settledVersion++; }
  if (op.settled != null && op.settled_from === l.settledLen) {
    l.settledHtml += op.settled; l.settledLen = op.settled_len; l.settledVersion++;
  }
  l.tailHtml = op.tail; l.tailLen = op.tail_len;
}

function setFooter(st, footer) {
  st.footer = footer || st.footer; st.footerAt = Date.now();
  if (footer && footer.status) { st.status = footer.status; st.error = footer.error || ""; }
}

function loadFull(st, full) {
  st.lanes = new Map();
  for (const l of full.lanes || []) {
    const x = Object.assign(newLane(l.name), { title: l.title || l.name, thinking: l.thinking || "",
                                               text: l.text || "", tools: l.tools || [],
                                               images: l.images || [] });
    if (l.html) applyHtml(x, l.html);
    st.lanes.set(l.name, x);
  }
  st.model = full.model || st.model;
  setFooter(st, full.footer);
  st.status = full.status || st.status; st.error = full.error || "";
  st.checkpoint = full.checkpoint || null;
  st.render = full.render || st.render;
}

function applyOp(st, op) {
  if (op.field === "meta") { setFooter(st, op.footer); return; }
  if (op.field === "checkpoint") { st.checkpoint = op.checkpoint; return; }
  const l = lane(st, op.lane || "");
  if (op.field === "title") { l.title = op.title; return; }
  if (op.field === "text" || op.field === "thinking") l[op.field] += op.append;
  else if (op.field === "html") applyHtml(l, op);
  else if (op.field === "tool") {
    const i = l.tools.findIndex((t) => t.id === op.tool.id);
    if (i >= 0) l.tools[i] = op.tool; else l.tools.push(op.tool);
  } else if (op.field === "image") {
    const i = l.images.findIndex((m) => m.index === op.image.index);
    if (i >= 0) l.images[i] = op.image; else l.images.push(op.image);
    l.images.sort((a, b) => a.index - b.index);
  }
}

function fmtFooter(st) {
  const f = st.footer || {};
  const parts = [f.model || st.model || "model ?"];
  // between messages (a tool running, a slow first token) the clock keeps moving here
  const live = st.status === "streaming";
  const elapsed = f.elapsed_s == null ? null : Number(f.elapsed_s) + (live ? (Date.now() - st.footerAt) / 1000 : 0);
  if (f.input_tokens != null) parts.push(`${f.input_tokens} in / ${f.estimated ? "~" : ""}${f.output_tokens} out tokens`);
  else if (f.output_tokens != null && !(f.images && f.estimated)) parts.push(`${f.estimated ? "~" : ""}${f.output_tokens} tokens`);
  if (elapsed != null) parts.push(`${elapsed.toFixed(2)} s`);
  if (f.images) parts.push(`${f.images} image${f.images === 1 ? "" : "s"}`);
  else if (f.output_tokens && elapsed) parts.push(`${(f.output_tokens / elapsed).toFixed(1)} tok/s`);
  if (f.cut) parts.push(f.limit ? `cut at the token limit (max_tokens=${f.limit})` : "cut at the token limit");
  const status = live ? "streaming…" : st.status;
  if (status !== "done") parts.push(status + (st.error ? ": " + st.error : ""));
  return parts.join(" · ");
}

function answerText(st) {
  const lanes = [...st.lanes.values()].filter((l) => l.text);
  return lanes.length ? lanes[lanes.length - 1].text : "";
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
        '<ol class="wb-tools"></ol><div class="wb-images"></div>' +
        '<div class="wb-answer"><div class="wb-settled"></div><div class="wb-tail"></div></div>';
      el.insertBefore(box, view.footer);
      view.boxes.set(l.name, box);
      box.seenText = false;
    }
    const name = box.querySelector(".wb-lane-name");
    name.textContent = l.title || l.name; name.style.display = multi || l.name ? "" : "none";
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
    renderImages(box.querySelector(".wb-images"), l.images);
    const answer = box.querySelector(".wb-answer");
    if (st.render === "text") {
      if (answer.dataset.len !== String(l.text.length)) {
        answer.innerHTML = `<pre class="wb-text">${esc(l.text)}</pre>`;
        answer.dataset.len = String(l.text.length);
      }
    } else {
      const settled = box.querySelector(".wb-settled"), tail = box.querySelector(".wb-tail");
      if (settled.dataset.version !== String(l.settledVersion)) {
        settled.innerHTML = l.settledHtml; settled.dataset.version = String(l.settledVersion);
      }
      // the open tail: its rendering while it is current, else the raw text (a long open
      // paragraph is rendered once it settles)
      const raw = l.text.slice(l.settledLen);
      const key = `${l.settledLen}:${raw.length}`;
      if (tail.dataset.key !== key) {
        tail.innerHTML = l.tailHtml != null && l.tailLen === raw.length ? l.tailHtml
          : (raw ? `<p class="wb-raw">${esc(raw)}</p>` : "");
        tail.dataset.key = key;
      }
    }
  }
  view.footer.textContent = fmtFooter(st);
  const failed = st.status === "error" || st.status === "interrupted";
  view.footer.classList.toggle("wb-failed", failed);
  el.dataset.status = st.status;
  view.stop.style.display = st.status === "streaming" && st.kernelId ? "" : "none";
  view.copy.style.display = answerText(st) ? "" : "none";
  if (st.checkpoint && st.checkpoint.path) {
    view.note.style.display = "";
    view.note.textContent = `Saved checkpoint ${st.checkpoint.path}` +
      (st.checkpoint.resume_code ? "; the code that resumes it is shown when the run ends." : ".");
  }
}

// One figure per image: its newest preview (or the finished image) and a step counter. An
// <img> is only given a new src when the picture changed.
function renderImages(box, images) {
  box.style.display = images.length ? "" : "none";
  images.forEach((m, i) => {
    let fig = box.children[i];
    if (!fig) {
      fig = document.createElement("figure"); fig.className = "wb-image";
      fig.innerHTML = "<img><figcaption></figcaption>"; box.appendChild(fig);
    }
    const img = fig.querySelector("img");
    if (m.src && img.getAttribute("src") !== m.src) img.setAttribute("src", m.src);
    img.alt = `image ${m.index + 1}`;
    fig.classList.toggle("wb-image-final", !!m.final);
    fig.querySelector("figcaption").textContent = m.final ? `image ${m.index + 1}` :
      (m.total ? `image ${m.index + 1} · step ${m.step}/${m.total}` : `image ${m.index + 1} · step ${m.step}`);
  });
  while (box.children.length > images.length) box.removeChild(box.lastChild);
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

function button(cls, label, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = cls; b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function render({ model, el }) {
  let st = STATES.get(model);
  if (!st) { initialize({ model }); st = STATES.get(model); }
  el.classList.add("wb-stream");
  const footer = document.createElement("div"); footer.className = "wb-footer";
  const note = document.createElement("div"); note.className = "wb-checkpoint"; note.style.display = "none";
  const controls = document.createElement("div"); controls.className = "wb-controls";
  const stop = button("wb-stop", "Stop", () => {
    stop.disabled = true; stop.textContent = "Stopping…";
    interruptKernel(st.kernelId).catch(() => { stop.textContent = "Stop failed: use Kernel > Interrupt"; });
  });
  const copy = button("wb-copy", "Copy answer", () => {
    navigator.clipboard.writeText(answerText(st)).then(() => { copy.textContent = "Copied"; },
                                                       () => { copy.textContent = "Copy failed"; });
  });
  controls.appendChild(stop); controls.appendChild(copy);
  el.appendChild(footer); el.appendChild(note); el.appendChild(controls);
  const view = { el, footer, note, stop, copy, boxes: new Map() };
  st.views.add(view);
  renderView(st, view);
  // the footer's clock moves while nothing arrives (a tool running, a slow first token)
  const tick = setInterval(() => { if (st.status === "streaming") renderView(st, view); }, 250);
  return () => { clearInterval(tick); st.views.delete(view); };
}

export default { initialize, render };
