/**
 * The status-bar gauge of the current notebook's kernel: the memory of the weights it holds
 * (and GPU memory where it has a GPU). Hidden when the kernel has no workbench. A click
 * opens a menu: show the full gauge (a `%aimu cache` cell) or clear every weight.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Menu, Widget } from '@lumino/widgets';
import { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';
import { KernelLink } from './link';

export const CLEAR_COMMAND = 'aimu-workbench:clear-weights';
export const GAUGE_COMMAND = 'aimu-workbench:show-gauge';

export class GaugeItem extends Widget {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly links: (panel: NotebookPanel) => KernelLink,
    commands: CommandRegistry
  ) {
    super({ node: document.createElement('div') });
    this.addClass('jp-aimu-gauge');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this._menu = new Menu({ commands });
    this._menu.addClass('jp-aimu-gauge-menu');
    this._menu.addItem({ command: GAUGE_COMMAND });
    this._menu.addItem({ command: CLEAR_COMMAND });
    this.node.addEventListener('click', this._openMenu);
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        this._openMenu();
      }
    });
    tracker.currentChanged.connect(this._follow, this);
    this._follow();
  }

  /** The link of the notebook the status bar follows. */
  get link(): KernelLink | null {
    return this._link;
  }

  get activeChanged(): ISignal<this, void> {
    return this._activeChanged;
  }

  isActive(): boolean {
    return !!this._link?.gauge;
  }

  dispose(): void {
    this._menu.dispose();
    super.dispose();
  }

  private _openMenu = (): void => {
    if (!this.isActive()) {
      return;
    }
    const rect = this.node.getBoundingClientRect();
    this._menu.open(rect.left, rect.top, { forceY: false });
  };

  private _follow(): void {
    this._link?.changed.disconnect(this._render, this);
    const panel = this.tracker.currentWidget;
    this._link = panel ? this.links(panel) : null;
    this._link?.changed.connect(this._render, this);
    this._render();
  }

  private _render(): void {
    const gauge = this._link?.gauge ?? null;
    const wasActive = this.node.dataset.active === 'true';
    this.node.dataset.active = gauge ? 'true' : 'false';
    if (gauge) {
      const devices = gauge.devices.map(d => d.text).join(' · ');
      this.node.textContent = `Weights: ${gauge.text}` + (devices ? ` · ${devices}` : '');
      this.node.title = gauge.title + '\nClick: show the full gauge, or clear every weight.';
      this.node.dataset.bytes = String(gauge.bytes);
      this.node.dataset.models = String(gauge.models);
    } else {
      this.node.textContent = '';
      this.node.title = '';
      delete this.node.dataset.bytes;
      delete this.node.dataset.models;
    }
    if (wasActive !== !!gauge) {
      this._activeChanged.emit();
    }
  }

  private _link: KernelLink | null = null;
  private _menu: Menu;
  private _activeChanged = new Signal<this, void>(this);
}
