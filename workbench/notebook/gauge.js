// The memory gauge: weight-cache entries with a clear button each, device totals.
function human(n) {
  if (n == null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function render({ model, el: root }) {
  root.classList.add("wb-gauge");
  const draw = () => {
    root.replaceChildren();
    const entries = model.get("entries") || [];
    const head = el("div", "wb-gauge-head");
    head.appendChild(el("b", null, `Weight cache: ${entries.length ? entries.length + " loaded" : "empty"}`));
    const all = el("button", "wb-clear-all", "clear all");
    all.disabled = !entries.length;
    all.onclick = () => model.send({ type: "clear_all" });
    head.appendChild(all);
    root.appendChild(head);
    if (entries.length) {
      const table = el("table", "wb-gauge-entries");
      for (const e of entries) {
        const tr = el("tr", "wb-entry");
        tr.dataset.key = e.key;
        tr.appendChild(el("td", "wb-entry-model", `${e.provider}:${e.model}`));
        const per = Object.entries(e.bytes_by_device || {}).map(([d, b]) => `${d} ${human(b)}`).join(", ");
        tr.appendChild(el("td", "wb-entry-bytes", human(e.bytes)));
        tr.appendChild(el("td", "wb-entry-devices", per));
        const td = el("td");
        const b = el("button", "wb-clear", "clear");
        b.title = `free ${e.provider}:${e.model}`;
        b.onclick = () => { b.disabled = true; model.send({ type: "clear", key: e.key }); };
        td.appendChild(b); tr.appendChild(td);
        table.appendChild(tr);
      }
      root.appendChild(table);
    }
    for (const d of model.get("devices") || []) {
      const row = el("div", "wb-device");
      const pct = d.total ? Math.min(100, (100 * d.used) / d.total) : 0;
      row.appendChild(el("span", "wb-device-name", d.name));
      const bar = el("span", "wb-bar"); const fill = el("span", "wb-bar-fill");
      fill.style.width = pct.toFixed(1) + "%"; bar.appendChild(fill); row.appendChild(bar);
      row.appendChild(el("span", "wb-device-figures", `${human(d.used)} / ${human(d.total)}`));
      root.appendChild(row);
    }
    const msg = model.get("message");
    if (msg) root.appendChild(el("div", "wb-gauge-message", msg));
  };
  model.on("change:entries", draw);
  model.on("change:devices", draw);
  model.on("change:message", draw);
  draw();
  return () => {
    model.off("change:entries", draw); model.off("change:devices", draw); model.off("change:message", draw);
  };
}

export default { render };
