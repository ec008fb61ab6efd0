/**
 * `%%aimu` cells look like prompts: the first line shows the magic, the model string, the
 * flags and their values; the body is prose (Python's colours are reset), with `{var}`
 * interpolations marked. Decided from the cell's own text on every render, so a saved
 * notebook is highlighted when it opens, and only in Python cells (never Markdown, raw
 * cells or other kernels' languages).
 */
import { Extension, Prec, Range } from '@codemirror/state';
import {
  Decoration,
  DecorationSet,
  EditorView,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';
import { CodeEditor } from '@jupyterlab/codeeditor';

const PYTHON_MIMES = new Set(['text/x-ipython', 'text/x-python']);
// Flags of %%aimu (workbench/notebook/magics.py cell_parser) that take a value.
const VALUE_FLAGS = new Set([
  '--system',
  '-s',
  '--format',
  '-f',
  '--tools',
  '-t',
  '-o',
  '--output',
  '--max-tokens',
  '--temperature',
  '--seed',
  '--restore'
]);
const MAGIC = /^%%aimu(?=\s|$)/;
const TOKEN = /"[^"]*"?|'[^']*'?|\S+/g;
// The rule of workbench.prompts.template.fill: a single-brace plain name.
const VARIABLE = /(?<!\{)\{[A-Za-z_][A-Za-z0-9_]*\}(?!\})/g;

const header = Decoration.line({ class: 'cm-aimu-header' });
const body = Decoration.line({ class: 'cm-aimu-body' });
const mark = (cls: string) => Decoration.mark({ class: cls });
const magicMark = mark('cm-aimu-magic');
const modelMark = mark('cm-aimu-model');
const flagMark = mark('cm-aimu-flag');
const valueMark = mark('cm-aimu-value');
const varMark = mark('cm-aimu-var');

export function isAimuCell(mimeType: string, text: string): boolean {
  return PYTHON_MIMES.has(mimeType) && MAGIC.test(text);
}

function headerMarks(from: number, text: string, out: Range<Decoration>[]) {
  let seenModel = false;
  let expectValue = false;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    const start = from + m.index;
    const end = start + m[0].length;
    if (m.index === 0) {
      out.push(magicMark.range(start, end));
    } else if (expectValue) {
      out.push(valueMark.range(start, end));
      expectValue = false;
    } else if (m[0].startsWith('-')) {
      const name = m[0].split('=')[0];
      out.push(flagMark.range(start, end));
      expectValue = VALUE_FLAGS.has(name) && !m[0].includes('=');
    } else if (!seenModel) {
      out.push(modelMark.range(start, end));
      seenModel = true;
    } else {
      out.push(valueMark.range(start, end));
    }
  }
}

export function aimuDecorations(view: EditorView, mimeType: string): DecorationSet {
  const doc = view.state.doc;
  if (!isAimuCell(mimeType, doc.sliceString(0, Math.min(doc.length, 16)))) {
    return Decoration.none;
  }
  const ranges: Range<Decoration>[] = [];
  const first = doc.line(1);
  ranges.push(header.range(first.from));
  headerMarks(first.from, first.text, ranges);
  for (const { from, to } of view.visibleRanges) {
    for (let pos = from; pos <= to; ) {
      const line = doc.lineAt(pos);
      if (line.number > 1) {
        ranges.push(body.range(line.from));
        VARIABLE.lastIndex = 0;
        for (let m = VARIABLE.exec(line.text); m; m = VARIABLE.exec(line.text)) {
          const start = line.from + m.index;
          ranges.push(varMark.range(start, start + m[0].length));
        }
      }
      pos = line.to + 1;
    }
  }
  return Decoration.set(ranges, true);
}

/** The CodeMirror extension for one editor; `model` gives its current MIME type. */
export function aimuHighlight(model: CodeEditor.IModel): Extension {
  // Lowest precedence: these marks wrap the language's token spans (one span per flag, model
  // or {var}), so they are never split by Python's tokens.
  return Prec.lowest(ViewPlugin.fromClass(
    class {
      decorations: DecorationSet;
      mimeType: string;

      constructor(view: EditorView) {
        this.mimeType = model.mimeType;
        this.decorations = aimuDecorations(view, this.mimeType);
      }

      update(update: ViewUpdate) {
        if (
          update.docChanged ||
          update.viewportChanged ||
          model.mimeType !== this.mimeType
        ) {
          this.mimeType = model.mimeType;
          this.decorations = aimuDecorations(update.view, this.mimeType);
        }
      }
    },
    { decorations: plugin => plugin.decorations }
  ));
}
