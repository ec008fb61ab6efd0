/**
 * Watches one notebook's DOM and calls each handler at most once per frame, however fast a
 * live view changes it (outputs render asynchronously, so "after an output appears" is a
 * DOM event, not a model one).
 */
import { NotebookPanel } from '@jupyterlab/notebook';

export type ScanHandler = (panel: NotebookPanel) => void;

export class NotebookWatcher {
  constructor(
    private readonly panel: NotebookPanel,
    private readonly handlers: ScanHandler[]
  ) {
    this._observer = new MutationObserver(() => this.schedule());
    this._observer.observe(panel.content.node, { childList: true, subtree: true });
    panel.disposed.connect(() => this._observer.disconnect());
    this.schedule();
  }

  schedule(): void {
    if (this._scheduled) {
      return;
    }
    this._scheduled = true;
    requestAnimationFrame(() => {
      this._scheduled = false;
      if (!this.panel.isDisposed) {
        this.handlers.forEach(handler => handler(this.panel));
      }
    });
  }

  private _observer: MutationObserver;
  private _scheduled = false;
}
