// Shared by the widgets' modules (stream view, benchmark and tuning panels): the kernel side
// (widget_js.py) puts this file in front of each module, so there is one copy of each helper.

function esc(s) {
  return String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// Stop buttons interrupt the kernel through Jupyter Server, as Kernel > Interrupt does (the
// kernel cannot read a comm message while it runs the cell): the run ends cleanly. The promise
// rejects when the server refuses (a 403 without a token, a kernel that is gone), so the
// button can say so instead of claiming to stop.
function interruptKernel(kernelId) {
  if (!kernelId) return Promise.reject(new Error("no kernel id"));
  let config = {};
  try {
    const node = document.getElementById("jupyter-config-data");
    config = node ? JSON.parse(node.textContent || "{}") : {};
  } catch (e) {
    config = {};
  }
  const base = (config.baseUrl || "/").replace(/\/?$/, "/");
  const headers = {};
  const xsrf = (document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/) || [])[1];
  if (xsrf) headers["X-XSRFToken"] = decodeURIComponent(xsrf);
  if (config.token) headers.Authorization = "token " + config.token;
  return fetch(`${base}api/kernels/${encodeURIComponent(kernelId)}/interrupt`,
               { method: "POST", headers, credentials: "same-origin" })
    .then((res) => { if (!res.ok) throw new Error(`interrupt refused: HTTP ${res.status}`); return res; });
}
