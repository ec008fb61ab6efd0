/**
 * aimu-workbench's JupyterLab extension: `%%aimu` cells highlighted as prompts, the
 * weight-cache gauge in the status bar, and resume cells inserted after a failed run.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry
} from '@jupyterlab/codemirror';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { aimuHighlight } from './highlight';
import { LinkRegistry } from './link';
import { showStaticCopies } from './fallback';
import { RegenerateButtons } from './regenerate';
import { NotebookWatcher } from './watch';
import { CLEAR_COMMAND, GAUGE_COMMAND, GaugeItem } from './status';

const highlighting: JupyterFrontEndPlugin<void> = {
  id: 'aimu-workbench:highlighting',
  description: '%%aimu cells highlighted as prompts, not Python.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (_app: JupyterFrontEnd, registry: IEditorExtensionRegistry) => {
    registry.addExtension({
      name: 'aimu-workbench:highlighting',
      factory: options =>
        EditorExtensionRegistry.createImmutableExtension(aimuHighlight(options.model))
    });
  }
};

const kernelLink: JupyterFrontEndPlugin<void> = {
  id: 'aimu-workbench:kernel-link',
  description: 'The weight-cache gauge in the status bar and resume cells after a failed run.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, statusBar: IStatusBar | null) => {
    const registry = new LinkRegistry();
    const linkOf = (panel: NotebookPanel) => registry.linkOf(panel);
    // Every notebook gets its link (resume cells need it even when another tab is current),
    // Regenerate buttons on its %%aimu answers, and saved copies of widgets whose kernel is gone.
    const attach = (panel: NotebookPanel) => {
      const buttons = new RegenerateButtons(panel, linkOf(panel));
      void new NotebookWatcher(panel, [() => buttons.scan(), showStaticCopies]);
    };
    tracker.widgetAdded.connect((_, panel) => attach(panel));
    tracker.forEach(attach);

    const current = () =>
      tracker.currentWidget ? linkOf(tracker.currentWidget) : null;
    app.commands.addCommand(CLEAR_COMMAND, {
      label: 'Clear every cached weight',
      caption: 'Free all in-process model weights of this notebook\'s kernel',
      isEnabled: () => !!current()?.gauge,
      execute: () => void current()?.clearWeights()
    });
    app.commands.addCommand(GAUGE_COMMAND, {
      label: 'Show the memory gauge',
      caption: 'Insert a wb.show_cache() cell below the active cell and run it',
      isEnabled: () => !!current()?.gauge,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return;
        }
        NotebookActions.insertBelow(panel.content);
        const cell = panel.content.activeCell;
        if (cell) {
          // works after a plain `import workbench` too (no %load_ext needed)
          cell.model.sharedModel.setSource('import workbench as wb\nwb.show_cache()');
          await NotebookActions.run(panel.content, panel.sessionContext);
        }
      }
    });

    if (statusBar) {
      const item = new GaugeItem(tracker, linkOf, app.commands);
      statusBar.registerStatusItem('aimu-workbench:gauge', {
        item,
        align: 'left',
        rank: 10,
        isActive: () => item.isActive(),
        activeStateChanged: item.activeChanged
      });
    }
  }
};

export default [highlighting, kernelLink];
