"""The notebook layer: ``%%aimu`` magics, the live stream view, the memory gauge, checkpoint cells.

Nothing here is imported by ``import workbench``: IPython, ipywidgets and anywidget load
when a notebook module is first used (``wb.show``, ``%load_ext workbench``).

    extension.py         %load_ext workbench: registers the magics, keeps the session
    magics.py            %%aimu and %aimu
    show.py              wb.show(stream) / ashow: a stream into a view, the answer back
    stream_state.py      what a view shows, accumulated from StreamChunks (pure)
    coalesce.py          few ordered messages from many deltas (pure)
    stream_view.py/.js   the anywidget and its ES module; TerminalView for terminals
    reprs.py             static HTML / Markdown / text of a finished stream
    gauge.py/.js         the memory gauge of the weight cache
    checkpoint_cells.py  checkpoints of notebook runs and the resume cell
    tour.py              runs the tour notebooks and exports HTML
"""
