"""%%aimu and %aimu through a real IPython InteractiveShell, against a fake OpenAI server."""

from __future__ import annotations

import json

from workbench.testing import Reply, ToolCall


def run_cell(shell, line, cell):
    """Run a %%aimu cell as the notebook does; returns IPython's ExecutionResult."""
    return shell.run_cell(f"%%aimu {line}\n{cell}")


def failed_short(result, out: str) -> None:
    """The cell ended in error, shown in a few lines (no traceback wall)."""
    assert not result.success and result.error_in_exec is not None
    assert "Traceback" not in out and "File \"" not in out
    assert "aimu:" in out


def sent_messages(server):
    return server.last_request.json["messages"]


def test_conversation_continues_across_cells(shell, fake_openai, model, capsys):
    fake_openai.add(Reply(text="Paris."), Reply(text="About 2 million."))
    run_cell(shell, model, "Capital of France?")
    run_cell(shell, model, "Population?")
    out = capsys.readouterr().out
    assert "Paris." in out and "About 2 million." in out
    assert [m["role"] for m in sent_messages(fake_openai)] == ["user", "assistant", "user"]
    shell.run_line_magic("aimu", "model " + model)
    shell.run_line_magic("aimu", "history")
    history = capsys.readouterr().out
    assert "[user] Capital of France?" in history and "[assistant] About 2 million." in history


def test_a_cell_run_twice_appends_a_second_turn_and_new_starts_fresh(shell, fake_openai, model):
    for _ in range(2):
        run_cell(shell, model, "Say hi")
    assert [m["content"] for m in sent_messages(fake_openai)] == ["Say hi", "Default answer.", "Say hi"]
    run_cell(shell, model + " --new", "Say hi")
    assert [m["content"] for m in sent_messages(fake_openai)] == ["Say hi"]


def test_system_output_variable_and_thinking_flag(shell, fake_openai, model):
    fake_openai.add(Reply(text="Terse.", thinking="short"))
    run_cell(shell, f'{model} --system "You are terse." --thinking -o nbtest_answer --max-tokens 20', "Hi")
    body = fake_openai.last_request.json
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["max_tokens"] == 20 or body.get("max_completion_tokens") == 20
    answer = shell.user_ns["nbtest_answer"]
    assert answer == "Terse." and answer.thinking == "short"
    assert answer.metadata["parameters"] == {"thinking": True, "max_tokens": 20}
    assert answer.metadata["usage"]["output_tokens"] > 0 and answer.metadata["elapsed_s"] >= 0


def test_vars_interpolates_only_defined_names_and_leaves_code_braces(shell, fake_openai, model):
    shell.user_ns["nbtest_x"] = 7
    cell = ('What is {nbtest_x} squared? Keep {undefined_name}, {{nbtest_x}}, {nbtest_x.real} and\n'
            'def f():\n    return {"a": {1, 2}}\n')
    run_cell(shell, model + " --vars", cell)
    sent = sent_messages(fake_openai)[-1]["content"]
    assert sent.startswith("What is 7 squared? Keep {undefined_name}, {{nbtest_x}}, {nbtest_x.real} and")
    assert 'return {"a": {1, 2}}' in sent
    run_cell(shell, model + " --new", "Literal {nbtest_x}")         # without --vars: verbatim
    assert sent_messages(fake_openai)[-1]["content"] == "Literal {nbtest_x}"


def test_format_code_fills_the_next_cell_and_json_parses(shell, fake_openai, model):
    fake_openai.add(Reply(text="Here:\n```python\nprint('hi')\n```\nDone."),
                    Reply(text='```json\n{"a": [1, 2]}\n```'))
    run_cell(shell, model + " --format code", "Write code")
    assert shell.rl_next_input == "print('hi')"
    run_cell(shell, model + " --format json -o nbtest_data", "Give JSON")
    assert shell.user_ns["nbtest_data"] == {"a": [1, 2]}


def test_format_code_puts_prose_in_a_message_and_a_rerun_adds_no_second_cell(shell, fake_openai, model, capsys):
    from workbench.notebook.magics import code_of

    assert code_of("x = 1\nprint(x)") == "x = 1\nprint(x)"          # an answer that parses as code
    assert code_of("Paris") is None and code_of("The capital is Paris.") is None
    fake_openai.add(Reply(text="The capital of France is Paris."))
    run_cell(shell, model + " --format code", "Capital?")
    assert shell.rl_next_input is None
    assert "no code block" in capsys.readouterr().out
    fake_openai.add(Reply(text="```python\nx = 2\n```"), Reply(text="```python\nx = 2\n```"))
    run_cell(shell, model + " --format code", "Code")
    assert shell.rl_next_input == "x = 2"
    shell.rl_next_input = None
    run_cell(shell, model + " --format code", "Code")             # the same cell, run again
    assert shell.rl_next_input is None
    assert "already in the cell below" in capsys.readouterr().out


def test_o_stores_the_answer_text_with_its_details(shell, fake_openai, model):
    fake_openai.add(Reply(text="Plain answer.", thinking="hm"))
    run_cell(shell, model + " -o nbtest_text", "Hi")
    answer = shell.user_ns["nbtest_text"]
    assert repr(answer) == repr("Plain answer.") and answer.thinking == "hm" and answer.status == "done"


def test_tools_by_name_from_the_namespace(shell, fake_openai, model, capsys):
    import workbench as wb

    calls = []

    @wb.tool
    def nbtest_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    shell.user_ns["nbtest_weather"] = nbtest_weather
    fake_openai.add(Reply(tool_calls=[ToolCall("nbtest_weather", {"city": "Paris"})]),
                    Reply(text="It is sunny."))
    run_cell(shell, model + " --tools nbtest_weather", "Weather in Paris?")
    assert calls == ["Paris"]
    out = capsys.readouterr().out
    assert "nbtest_weather" in out and "sunny in Paris" in out and "It is sunny." in out
    assert fake_openai.last_request.json["tools"][0]["function"]["name"] == "nbtest_weather"
    result = run_cell(shell, model + " --tools no_such_fn", "x")
    out = capsys.readouterr().out
    failed_short(result, out)
    assert "no function named 'no_such_fn'" in out


def test_unknown_model_fails_the_cell_with_a_line_that_says_how_to_list_models(shell, capsys):
    import workbench as wb

    first = run_cell(shell, "nosuchprovider:model", "Hi")
    second = run_cell(shell, "not-a-model-string", "Hi")
    out = capsys.readouterr().out
    failed_short(first, out)
    failed_short(second, out)
    assert isinstance(first.error_in_exec, wb.errors.WorkbenchError)    # the type is kept
    assert out.count("%aimu models") == 2


def test_missing_api_key_fails_the_cell_and_names_the_variable(shell, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = run_cell(shell, "openai:gpt-4.1", "Hi")
    out = capsys.readouterr().out
    failed_short(result, out)
    assert "OPENAI_API_KEY" in out


def test_connection_refused_fails_the_cell_with_one_short_message(shell, capsys):
    import socket

    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_cell(shell, f"openai-compat:m@http://127.0.0.1:{port}/v1", "Hi")
    out = capsys.readouterr().out
    failed_short(result, out)
    error_lines = [line for line in out.splitlines() if "aimu:" in line]
    assert error_lines and "127.0.0.1" in out and len(error_lines) <= 3


def test_interrupt_keeps_the_partial_answer_and_history_consistent(shell, fake_openai, model, capsys):
    import _thread

    # the server interrupts after 20 words: a known point, not a timer
    fake_openai.add(Reply(text="word " * 200, chunk_delay=0.01, after=(20, _thread.interrupt_main)))
    result = run_cell(shell, model + " -o nbtest_partial", "Talk a lot")
    out = capsys.readouterr().out
    failed_short(result, out)
    assert isinstance(result.error_in_exec, KeyboardInterrupt)      # the interrupt propagates
    assert "interrupted" in out
    partial = shell._workbench_session.last       # the cell failed, so -o was not assigned
    assert partial.status == "interrupted" and partial.startswith("word word")
    assert "nbtest_partial" not in shell.user_ns
    client = shell._workbench_session.client(model)
    assert client.messages[-1] == {"role": "user", "content": "Talk a lot"}


def test_line_commands(shell, fake_openai, model, capsys):
    shell.run_line_magic("aimu", "help")
    shell.run_line_magic("aimu", "models")
    shell.run_line_magic("aimu", "model")
    out = capsys.readouterr().out
    assert "%aimu checkpoints" in out and "hf:workbench-tiny" in out and "session model:" in out
    shell.run_line_magic("aimu", "model " + model)
    run_cell(shell, "", "Hello")                     # the session model is used
    assert fake_openai.last_request is not None
    shell.run_line_magic("aimu", "reset")
    shell.run_line_magic("aimu", "history")
    assert "no conversation yet" in capsys.readouterr().out
    shell.run_line_magic("aimu", "clear all")
    assert "cleared all: freed" in capsys.readouterr().out
    for bad, message in (("clear nothing", "clear what?"), ("frobnicate", "unknown command 'frobnicate'")):
        result = shell.run_cell(f"%aimu {bad}")
        out = capsys.readouterr().out
        failed_short(result, out)
        assert message in out


def test_history_of_another_model_and_reload_after_a_clear(shell, fake_openai, model, capsys):
    import workbench as wb

    run_cell(shell, model, "Remember me")
    shell.run_line_magic("aimu", "model hf:workbench-tiny")
    shell.run_line_magic("aimu", "history " + model)           # not the session model's
    assert "[user] Remember me" in capsys.readouterr().out
    shell.run_line_magic("aimu", "history")
    assert "conversations in this session:" in capsys.readouterr().out
    result = shell.run_cell("%aimu reload " + model)
    out = capsys.readouterr().out
    failed_short(result, out)
    assert "no local weights" in out

    run_cell(shell, "hf:workbench-tiny", "Hello")
    wb.clear_hf_cache()
    result = run_cell(shell, "hf:workbench-tiny", "Hello")        # reloads instead of failing
    out = capsys.readouterr().out
    assert result.success, out
    assert "were cleared; reloaded" in out
    assert [m["role"] for m in shell._workbench_session.client("hf:workbench-tiny").messages] == \
        ["user", "assistant", "user", "assistant"]
    shell.run_line_magic("aimu", "reload")
    assert "reloaded the weights of hf:workbench-tiny" in capsys.readouterr().out


def test_default_session_model_comes_from_the_environment(monkeypatch):
    from workbench.notebook.extension import NotebookSession

    monkeypatch.setenv("WORKBENCH_MODEL", "openai-compat:x@http://127.0.0.1:1/v1")
    assert NotebookSession().model == "openai-compat:x@http://127.0.0.1:1/v1"
    monkeypatch.delenv("WORKBENCH_MODEL")
    assert NotebookSession().model == "hf:workbench-tiny"


def test_metadata_records_model_parameters_tokens_and_timing(shell, fake_openai, model):
    run_cell(shell, model + " --temperature 0.5 -o nbtest_r", "Hi")
    meta = shell.user_ns["nbtest_r"].metadata
    assert meta["model"] and meta["parameters"] == {"temperature": 0.5}
    assert set(meta) >= {"usage", "elapsed_s", "tokens_per_s", "status", "format"}
    json.dumps(meta)


def test_a_rejected_api_key_is_never_printed(shell, fake_openai, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-nbtest-very-secret-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    fake_openai.add(Reply(status=401, error="Incorrect API key provided: sk-nbtest-very-secret-key"))
    result = run_cell(shell, "openai:gpt-4.1 -o nbtest_r", "Hi")
    captured = capsys.readouterr()
    failed_short(result, captured.out)
    assert "very-secret" not in captured.err + captured.out
    assert "very-secret" not in json.dumps(shell._workbench_session.last.metadata)
    assert "very-secret" not in str(result.error_in_exec)


def test_regenerate_replaces_the_last_answer(shell, fake_openai, model, capsys):
    fake_openai.add(Reply(text="First try."), Reply(text="Second try."))
    run_cell(shell, model, "Write a title")
    shell.run_line_magic("aimu", "model " + model)
    result = shell.run_cell("%aimu regenerate")
    assert result.success, capsys.readouterr().out
    client = shell._workbench_session.client(model)
    assert [m["content"] for m in client.messages] == ["Write a title", "Second try."]
    assert [m["content"] for m in sent_messages(fake_openai)] == ["Write a title"]    # not sent twice
    shell.run_line_magic("aimu", "reset")
    failed = shell.run_cell("%aimu regenerate")
    failed_short(failed, capsys.readouterr().out)


def test_runs_and_run_reopen_a_stored_run_from_sqlite(shell, fake_openai, model, capsys, tmp_path):
    from workbench.evals import Benchmark
    from workbench.prompts import ExactMatchScorer

    bench = Benchmark("Q: {q}", [{"q": "1", "expected": "Default answer."}], ExactMatchScorer(), name="mag")
    bench.run({"fake": model}, store=tmp_path / "runs.db", run_id="mag-3f2a", panel=False)
    capsys.readouterr()
    assert shell.run_line_magic("aimu", f"runs {tmp_path / 'runs.db'}") is None
    listed = capsys.readouterr().out
    assert "mag-3f2a" in listed and "finished" in listed and "fake 1.000" in listed
    shell.run_line_magic("aimu", "run 3f2a")               # a prefix; the last store used
    shown = capsys.readouterr().out
    assert "mag mag-3f2a: finished · 1 of 1 rows stored" in shown
    result = shell.run_cell("%aimu run nosuch")
    assert not result.success and "No run 'nosuch'" in str(result.error_in_exec)


def test_log_shows_the_last_calls_and_searches_them(shell, fake_openai, model, capsys, tmp_path):
    import workbench as wb

    wb.log.enable(tmp_path / "log.db")
    try:
        fake_openai.add(Reply(text="Tide pools hold anemones."), Reply(text="Kelp."))
        run_cell(shell, model, "What lives in tide pools?")
        run_cell(shell, model, "And offshore?")
        capsys.readouterr()
        assert shell.run_line_magic("aimu", "log 5") is None
        shown = capsys.readouterr().out
        assert "2 calls, newest first" in shown and "And offshore?" in shown and "Tide pools hold anemones." in shown
        assert shown.index("And offshore?") < shown.index("What lives in tide pools?")
        shell.run_line_magic("aimu", "log --search anemones")
        found = capsys.readouterr().out
        assert "1 call matching 'anemones'" in found and "And offshore?" not in found
        result = shell.run_cell("%aimu log many")
        assert not result.success
    finally:
        wb.log.disable()
