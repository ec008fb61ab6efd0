/**
 * One notebook's link to workbench in its kernel: a comm the frontend opens (target
 * `aimu-workbench`), so it survives page reloads and second tabs. The kernel sends the
 * weight-cache gauge over it; the frontend sends `clear` and `refresh`.
 *
 * When is the comm opened? When the notebook's kernel is ready or changes (a reload, a
 * second tab, a restart), and when the kernel announces that workbench registered its
 * target there (a `aimu-workbench-hello` comm, sent by `import workbench` or
 * `%load_ext workbench`). A kernel without workbench closes the comm at once: the link
 * stays quiet and the status bar shows nothing.
 *
 * Resume-cell upserts come as comms the kernel opens (`aimu-workbench-upsert`): they travel
 * with the failed cell's output, so they arrive even while the frontend's own comm_open
 * waits behind queued cells (Run All right after `import workbench`). Only the page whose
 * request ran the cell (its client id is the request's session) applies one.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { upsertResumeCell } from './resume';

export const TARGET = 'aimu-workbench';
export const HELLO_TARGET = 'aimu-workbench-hello';
export const UPSERT_TARGET = 'aimu-workbench-upsert';

/** What every link of the application shares: kernel-opened comms go to the links. */
export class LinkRegistry {
  readonly links = new Map<NotebookPanel, KernelLink>();

  linkOf(panel: NotebookPanel): KernelLink {
    let link = this.links.get(panel);
    if (!link) {
      link = new KernelLink(panel, this);
      this.links.set(panel, link);
      panel.disposed.connect(() => this.links.delete(panel));
    }
    return link;
  }

  /** Register the kernel-opened comm targets on ``kernel`` (once: several notebooks may
   * share a kernel, and a target has one callback, which reaches all of them). */
  listen(kernel: Kernel.IKernelConnection): void {
    if (this._listening.has(kernel)) {
      return;
    }
    this._listening.add(kernel);
    const linksOf = () => [...this.links.values()].filter(link => link.kernelId === kernel.id);
    kernel.registerCommTarget(HELLO_TARGET, () => linksOf().forEach(link => link.open()));
    kernel.registerCommTarget(UPSERT_TARGET, (_comm, msg) => {
      const data = msg.content.data as Record<string, any>;
      if (data.session && data.session !== kernel.clientId) {
        return;   // another page ran the cell: it applies the upsert to its own copy
      }
      for (const link of linksOf()) {
        if (upsertResumeCell(link.panel, String(data.cell_id), String(data.key), String(data.code)) !== 'missing') {
          return;
        }
      }
    });
    kernel.disposed.connect(() => this._listening.delete(kernel));
  }

  private _listening = new Set<Kernel.IKernelConnection>();
}

export interface IGaugeDevice {
  name: string;
  used: number;
  total: number;
  text: string;
}

export interface IGauge {
  type: 'gauge';
  models: number;
  bytes: number;
  text: string;
  title: string;
  devices: IGaugeDevice[];
}

export class KernelLink {
  constructor(readonly panel: NotebookPanel, private readonly registry: LinkRegistry) {
    const context = panel.sessionContext;
    context.kernelChanged.connect(this._onKernelChanged, this);
    context.statusChanged.connect(this._onStatus, this);
    void context.ready.then(() => this._onKernelChanged());
    panel.disposed.connect(() => this.dispose());
  }

  /** The latest gauge from the kernel (null: no workbench there, or not yet heard). */
  get gauge(): IGauge | null {
    return this._gauge;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The kernel has workbench and the comm is open (it answered with a gauge). */
  get connected(): boolean {
    return this._comm !== null && this._gauge !== null;
  }

  get kernelId(): string | null {
    return this._kernel && !this._kernel.isDisposed ? this._kernel.id : null;
  }

  /** Open the comm unless it is open (the kernel announced workbench). */
  open(): void {
    if (!this._comm) {
      void this._open();
    }
  }

  /** Ask the kernel to free every cached weight (the gauge updates itself). */
  clearWeights(): boolean {
    return this._send({ type: 'clear' });
  }

  refresh(): boolean {
    return this._send({ type: 'refresh' });
  }

  /** The next run of cell ``cellId`` replaces its last exchange (the Regenerate button). */
  regenerate(cellId: string): boolean {
    return this._send({ type: 'regenerate', cell_id: cellId });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._drop(true);
    Signal.clearData(this);
  }

  private _send(data: Record<string, string>): boolean {
    if (!this._comm || this._comm.isDisposed) {
      return false;
    }
    this._comm.send(data);
    return true;
  }

  private _onKernelChanged(): void {
    const kernel = this.panel.sessionContext.session?.kernel ?? null;
    if (kernel === this._kernel) {
      return;   // the ready promise and kernelChanged both report the first kernel
    }
    this._drop(true);
    if (this._disposed || !kernel) {
      return;
    }
    this._kernel = kernel;
    this.registry.listen(kernel);
    void this._open();
  }

  private _onStatus(_: unknown, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'dead' || status === 'autorestarting') {
      // The kernel's comms die with it; the restarted kernel announces itself again.
      this._drop(false);
    } else if (status === 'idle' && !this._comm && this._kernel && !this._tried) {
      void this._open();
    }
  }

  private async _open(): Promise<void> {
    const kernel = this._kernel;
    if (!kernel || kernel.isDisposed || this._comm || this._opening) {
      return;
    }
    const attempt = ++this._attempt;
    this._opening = true;
    this._tried = true;
    const comm = kernel.createComm(TARGET);
    comm.onMsg = msg => this._onMessage(msg);
    comm.onClose = () => {
      if (this._comm === comm) {
        this._comm = null;
        this._setGauge(null);
      }
    };
    this._comm = comm;
    try {
      await comm.open({ type: 'hello' }).done;
    } catch {
      // A kernel without workbench, or one that went away: nothing to show.
      if (this._comm === comm) {
        this._comm = null;
      }
    } finally {
      if (attempt === this._attempt) {
        this._opening = false;
      }
    }
  }

  private _drop(forget: boolean): void {
    const comm = this._comm;
    const kernel = this._kernel;
    this._comm = null;
    this._tried = false;
    this._opening = false;
    this._attempt++;   // an open still in flight no longer touches this link
    if (comm && !comm.isDisposed) {
      try {
        // A live kernel forgets the comm (no gauge sent to a closed page); a dead one
        // took it along.
        if (kernel && !kernel.isDisposed && kernel.status !== 'dead' && kernel.connectionStatus === 'connected') {
          comm.close();
        } else {
          comm.dispose();
        }
      } catch {
        // already gone with its kernel
      }
    }
    if (forget) {
      this._kernel = null;   // its comm targets stay: other notebooks may share the kernel
    }
    this._setGauge(null);
  }

  private _onMessage(msg: KernelMessage.ICommMsgMsg): void {
    const data = msg.content.data as Record<string, any>;
    if (data.type === 'gauge' || data.type === 'cleared') {
      this._setGauge({ ...data, type: 'gauge' } as IGauge);
    }
  }

  private _setGauge(gauge: IGauge | null): void {
    this._gauge = gauge;
    this._changed.emit();
  }

  private _comm: Kernel.IComm | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _gauge: IGauge | null = null;
  private _opening = false;
  private _attempt = 0;
  private _tried = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
