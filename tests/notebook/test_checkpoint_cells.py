"""Checkpoint cells: runs from the notebook save themselves; a failed run pre-fills the resume cell."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.testing import Reply


def checkpoint_files():
    return sorted(Path(".workbench/checkpoints").glob("*.json"))


def test_aimu_turns_checkpoint_and_an_interrupt_offers_the_resume_cell(shell, fake_openai, model, capsys):
    import _thread
    import threading

    shell.run_cell_magic("aimu", model, "First question")
    files = checkpoint_files()
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant"]

    fake_openai.add(Reply(text="slow " * 300, chunk_delay=0.01))
    timer = threading.Timer(0.4, _thread.interrupt_main)
    timer.start()
    shell.run_cell_magic("aimu", model, "Second question")
    timer.join()
    assert checkpoint_files() == files                  # one file per conversation, overwritten
    saved = json.loads(files[0].read_text())
    assert [m["content"] for m in saved["messages"]][-1] == "Second question"
    path = files[0].relative_to(Path.cwd()).as_posix() if files[0].is_absolute() else files[0].as_posix()
    assert shell.rl_next_input == f"%%aimu {model} --restore {path}\nContinue where you left off."
    assert "next cell resumes" in capsys.readouterr().err

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
    code = shell.rl_next_input
    assert code == (f"import workbench as wb\nnbtest_agent.restore(wb.load_checkpoint({note['path']!r}))\n"
                    f"wb.show(nbtest_agent.run('Continue where you left off.', stream=True))")
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
