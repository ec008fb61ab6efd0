/**
 * Workbench's widgets carry a static HTML copy of what they show (`text/html` next to the
 * widget view, a `wb-...-static` block). Reopened after its kernel is gone, JupyterLab's
 * widget manager cannot find the widget's model and writes "Error displaying widget: model
 * not found" in its place; this puts the saved static copy there instead (sanitized like
 * any HTML output). A widget whose kernel still holds it (a page reload) renders live.
 */
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

const MISSING = 'Error displaying widget: model not found';
const OURS = /class="wb-[a-z-]*static/;

export function showStaticCopies(panel: NotebookPanel): void {
  const sanitizer = panel.content.rendermime.sanitizer;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') {
      continue;
    }
    const area = (cell as CodeCell).outputArea;
    area.widgets.forEach((child, index) => {
      const missing = Array.from(child.node.querySelectorAll<HTMLElement>('.jupyter-widgets')).find(
        node => node.textContent === MISSING
      );
      if (!missing || index >= area.model.length) {
        return;
      }
      const html = area.model.get(index).data['text/html'];
      const text = Array.isArray(html) ? html.join('') : typeof html === 'string' ? html : '';
      if (!OURS.test(text)) {
        return;   // someone else's widget: its error stays
      }
      missing.innerHTML = sanitizer.sanitize(text);
      missing.classList.add('wb-static-copy');
      missing.title = 'Saved copy: the kernel that drew this live view is gone';
    });
  }
}
