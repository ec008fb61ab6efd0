/**
 * Resume cells that JupyterLab really inserts: after a failed or interrupted run the kernel
 * sends the failed cell's id, a key and the resume code. The cell below carrying that key
 * in its metadata (`workbench.resume_for`) gets the new code; without one, a cell is
 * inserted below the failed one. Re-running the failed cell never stacks copies.
 */
import { ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

export const METADATA_KEY = 'workbench';

function resumeKey(cell: ICellModel): string | undefined {
  const meta = cell.getMetadata(METADATA_KEY) as { resume_for?: string } | undefined;
  return meta?.resume_for;
}

/** Returns what happened: 'inserted', 'replaced', 'unchanged' or 'missing' (no such cell). */
export function upsertResumeCell(
  panel: NotebookPanel,
  cellId: string,
  key: string,
  code: string
): string {
  const model = panel.content.model;
  if (!model) {
    return 'missing';
  }
  const cells = model.cells;
  let failed = -1;
  let existing = -1;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.id === cellId) {
      failed = i;
    }
    if (resumeKey(cell) === key) {
      existing = i;
    }
  }
  if (existing >= 0) {
    const shared = cells.get(existing).sharedModel;
    if (shared.getSource() === code) {
      return 'unchanged';
    }
    shared.setSource(code);
    return 'replaced';
  }
  if (failed < 0) {
    return 'missing';
  }
  model.sharedModel.insertCell(failed + 1, {
    cell_type: 'code',
    source: code,
    metadata: { [METADATA_KEY]: { resume_for: key } }
  });
  return 'inserted';
}
