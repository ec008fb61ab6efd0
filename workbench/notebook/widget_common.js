// Shared by the widgets' modules (stream view, benchmark and tuning panels): the kernel side
// (widget_js.py) puts this file in front of each module, so there is one copy of each helper.

function esc(s) {
  return String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// Stop buttons interrupt the kernel through Jupyter Server, as Kernel > Interrupt does (the
// kernel cannot read a comm message while it runs the cell): the run ends cleanly.
function interruptKernel(kernelId) {
  const node = document.getElementById("jupyter-config-data");
  const config = node ? JSON.parse(node.textContent || "{}") : {};
  const base = (config.baseUrl || "/").replace(/\/?$/, "/");
  const headers = {};
  const xsrf = (document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/) || [])[1];
  if (xsrf) headers["X-XSRFToken"] = decodeURIComponent(xsrf);
  if (config.token) headers.Authorization = "token " + config.token;
  return fetch(`${base}api/kernels/${encodeURIComponent(kernelId)}/interrupt`,
               { method: "POST", headers, credentials: "same-origin" });
}
