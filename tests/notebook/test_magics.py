"""%%aimu and %aimu through a real IPython InteractiveShell, against a fake OpenAI server."""

from __future__ import annotations

import json

from workbench.testing import Reply, ToolCall


def run_cell(shell, line, cell):
    shell.run_cell_magic("aimu", line, cell)


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
    run_cell(shell, model + " --tools no_such_fn", "x")
    assert "no function named 'no_such_fn'" in capsys.readouterr().err


def test_unknown_model_prints_one_line_that_says_how_to_list_models(shell, capsys):
    run_cell(shell, "nosuchprovider:model", "Hi")
    run_cell(shell, "not-a-model-string", "Hi")
    err = capsys.readouterr().err
    assert err.count("%aimu models") == 2
    assert "Traceback" not in err


def test_missing_api_key_names_the_variable(shell, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    run_cell(shell, "openai:gpt-4.1", "Hi")
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "Traceback" not in err


def test_connection_refused_is_one_short_message(shell, capsys):
    import socket

    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_cell(shell, f"openai-compat:m@http://127.0.0.1:{port}/v1", "Hi")
    err = capsys.readouterr().err
    assert "aimu:" in err and "127.0.0.1" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3


def test_interrupt_keeps_the_partial_answer_and_history_consistent(shell, fake_openai, model, capsys):
    import _thread
    import threading

    fake_openai.add(Reply(text="word " * 200, chunk_delay=0.01))
    timer = threading.Timer(0.4, _thread.interrupt_main)
    timer.start()
    run_cell(shell, model + " -o nbtest_partial", "Talk a lot")
    timer.join()
    captured = capsys.readouterr()
    partial = shell.user_ns["nbtest_partial"]
    assert partial.status == "interrupted" and partial.startswith("word word")
    assert "interrupted" in captured.err and "Traceback" not in captured.err
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
    shell.run_line_magic("aimu", "clear nothing")
    shell.run_line_magic("aimu", "frobnicate")
    captured = capsys.readouterr()
    assert "cleared all: freed" in captured.out
    assert "clear what?" in captured.err and "unknown command 'frobnicate'" in captured.err


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
    run_cell(shell, "openai:gpt-4.1 -o nbtest_r", "Hi")
    captured = capsys.readouterr()
    assert "aimu:" in captured.err
    assert "very-secret" not in captured.err + captured.out
    assert "very-secret" not in json.dumps(shell.user_ns["nbtest_r"].metadata)
