"""Checkpoint cells: runs from the notebook save themselves; a failed run shows its resume code,
and %aimu resume puts it into the next cell (once)."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.testing import Reply


def checkpoint_files():
    return sorted(Path(".workbench/checkpoints").glob("*.json"))


def test_aimu_turns_checkpoint_and_an_interrupt_offers_the_resume_cell(shell, fake_openai, model, capsys):
    import _thread

    shell.run_cell(f"%%aimu {model}\nFirst question")
    files = checkpoint_files()
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant"]

    fake_openai.add(Reply(text="slow " * 300, chunk_delay=0.01, after=(20, _thread.interrupt_main)))
    result = shell.run_cell(f"%%aimu {model}\nSecond question")
    assert not result.success and isinstance(result.error_in_exec, KeyboardInterrupt)
    assert checkpoint_files() == files                  # one file per conversation, overwritten
    saved = json.loads(files[0].read_text())
    assert [m["content"] for m in saved["messages"]][-1] == "Second question"
    path = files[0].relative_to(Path.cwd()).as_posix() if files[0].is_absolute() else files[0].as_posix()
    code = f"%%aimu {model} --restore {path}\nContinue where you left off."
    out = capsys.readouterr().out
    assert code in out.replace("\n    ", "\n") and "Traceback" not in out   # shown in the failed cell
    assert shell.rl_next_input is None                  # JupyterLab would drop it on an error
    shell.run_line_magic("aimu", "resume")
    assert shell.rl_next_input == code
    shell.rl_next_input = None
    shell.run_line_magic("aimu", "resume")              # a second time: no second cell
    assert shell.rl_next_input is None and "already in a cell" in capsys.readouterr().out
    shell.rl_next_input = code

    # the offered cell works: a fresh session restores the history and continues
    shell.run_line_magic("unload_ext", "workbench")
    shell.run_line_magic("load_ext", "workbench")
    fake_openai.add(Reply(text="Resumed."))
    shell.run_cell(shell.rl_next_input)
    sent = fake_openai.last_request.json["messages"]
    assert [m["content"] for m in sent] == ["First question", "Default answer.", "Second question",
                                            "Continue where you left off."]
    shell.run_line_magic("aimu", "checkpoints")
    assert path in capsys.readouterr().out


def test_show_of_a_failing_agent_run_prefills_restore_and_resume(shell, fake_openai, model):
    import pytest

    import workbench as wb

    agent = wb.agent(model, system="You are an agent.")
    shell.user_ns["nbtest_agent"] = agent
    fake_openai.add(Reply(text="working on it " * 20, drop_after=3))
    with pytest.raises(wb.errors.ProviderError) as info:
        wb.show(agent.run("Do the task", stream=True))
    note = info.value.shown.checkpoint
    assert note and Path(note["path"]).exists()
    code = (f"import workbench as wb\nnbtest_agent.restore(wb.load_checkpoint({note['path']!r}))\n"
            f"wb.show(nbtest_agent.run('Continue where you left off.', stream=True))")
    assert note["resume_code"] == code
    shown = "\n".join(info.value._render_traceback_())      # what IPython prints: a few lines
    assert "Saved checkpoint" in shown and "nbtest_agent.restore(" in shown and "Traceback" not in shown
    shell.run_line_magic("aimu", "resume")
    assert shell.rl_next_input == code
    fake_openai.add(Reply(text="Done now."))
    result = shell.run_cell(code)
    assert result.success
    assert agent.messages[agent.name][-1]["content"] == "Done now."
    sent = fake_openai.last_request.json["messages"]
    assert sent[0]["role"] == "system" and sum(m["role"] == "system" for m in sent) == 1
    assert "Do the task" in [m["content"] for m in sent]


def test_checkpoint_list_is_empty_at_first(shell, capsys):
    shell.run_line_magic("aimu", "checkpoints")
    assert "no checkpoints" in capsys.readouterr().out


def test_checkpoints_are_pruned_per_model_and_clean_keeps_the_newest(shell, fake_openai, model, capsys):
    import os

    from workbench.notebook.checkpoint_cells import KEEP_PER_LABEL, new_checkpoint_path, slug

    assert slug(model) == "openai-compat-fake-model"          # no URL or host in file names
    made = []
    for i in range(KEEP_PER_LABEL + 3):
        path = new_checkpoint_path("aimu-" + model)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
        made.append(path)
    assert len(checkpoint_files()) == KEEP_PER_LABEL
    assert made[-1].exists() and not made[0].exists()
    other = new_checkpoint_path("other-run")
    other.write_text("{}")
    shell.run_line_magic("aimu", "checkpoints --clean")
    assert f"removed {KEEP_PER_LABEL - 1} checkpoint(s)" in capsys.readouterr().out
    assert sorted(p.name for p in checkpoint_files()) == sorted([made[-1].name, other.name])
