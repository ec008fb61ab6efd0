/**
 * A Regenerate button on the answer of a `%%aimu` cell: it tells the kernel that the next
 * run of this cell replaces the cell's last exchange (instead of adding a turn), then runs
 * the cell, so the new answer lands where the old one was. The button is added to the
 * finished answer's controls only while the notebook's kernel has workbench (the link's
 * comm is open): without the kernel side a button would do nothing.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { KernelLink } from './link';

const BUTTON = 'wb-regenerate';

function isAimuSource(source: string): boolean {
  return /^%%aimu(\s|$)/.test(source);
}

export class RegenerateButtons {
  /** ``scan`` runs from the notebook's watcher (DOM changes) and when the link changes. */
  constructor(
    private readonly panel: NotebookPanel,
    private readonly link: KernelLink
  ) {
    link.changed.connect(this.scan, this);
    panel.disposed.connect(() => link.changed.disconnect(this.scan, this));
  }

  /** Add the button to every finished %%aimu answer that lacks one (or drop them all). */
  scan(): void {
    const cells = this.panel.content.widgets;
    for (const cell of cells) {
      const controls = cell.node.querySelectorAll<HTMLElement>('.wb-stream-static .wb-controls');
      controls.forEach(node => {
        const existing = node.querySelector(`.${BUTTON}`);
        const wanted = this.link.connected && isAimuSource(cell.model.sharedModel.getSource());
        if (wanted && !existing) {
          node.appendChild(this._button(cell));
        } else if (!wanted && existing) {
          existing.remove();
        }
      });
    }
  }

  private _button(cell: Cell): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = BUTTON;
    button.textContent = 'Regenerate';
    button.title = 'Answer this prompt again, replacing this answer in the conversation';
    button.style.fontSize = '80%';
    button.style.marginLeft = '6px';
    button.addEventListener('click', () => void this._regenerate(cell));
    return button;
  }

  private async _regenerate(cell: Cell): Promise<void> {
    const notebook = this.panel.content;
    const index = notebook.widgets.indexOf(cell);
    if (index < 0 || !this.link.regenerate(cell.model.id)) {
      return;
    }
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    await NotebookActions.run(notebook, this.panel.sessionContext);
  }

}
