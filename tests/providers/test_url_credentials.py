"""Credentials in a base URL (``openai-compat:m@http://user:pass@host/v1``) are used for the
connection and never shown: not in errors, reprs, retries' log lines, checkpoints, their
file names or resume cells; an SDK exception the error mapping does not know is redacted."""

from __future__ import annotations

import logging

import pytest

import workbench as wb
from workbench.errors import ConnectionFailed, ModelStringError
from workbench.testing import FakeOpenAIServer, Reply

SECRET = "sekrit-pass-42"


def with_credentials(base_url: str) -> str:
    return base_url.replace("http://", f"http://alice:{SECRET}@")


def test_a_url_with_user_info_connects_with_basic_auth_and_shows_no_password(tmp_path):
    with FakeOpenAIServer(default=Reply(text="Hello.")) as server:
        c = wb.client("openai-compat:m@" + with_credentials(server.base_url))
        assert c.chat("Hi") == "Hello."
        assert server.last_request.headers["authorization"].startswith("Basic ")
        assert SECRET not in repr(c) and SECRET not in c.host and c.host.startswith("127.0.0.1:")
        path = wb.save_checkpoint(c, tmp_path / "c.json")
        assert SECRET not in path.read_text()

        from workbench.notebook.checkpoint_cells import new_checkpoint_path, resume_code_for_magic

        model = "openai-compat:m@" + with_credentials(server.base_url)
        assert SECRET not in new_checkpoint_path("aimu-" + model).name
        assert SECRET not in resume_code_for_magic(model, tmp_path / "c.json")


def test_connection_errors_and_retry_logs_name_the_host_only(caplog):
    c = wb.client(f"openai-compat:m@http://alice:{SECRET}@127.0.0.1:9/v1", retry=1)
    with caplog.at_level(logging.INFO), pytest.raises(ConnectionFailed) as info:
        c.chat("Hi")
    shown = f"{info.value} {info.value!r} {info.value.__cause__!r} {caplog.text}"
    assert "127.0.0.1:9" in str(info.value) and SECRET not in shown and "alice" not in str(info.value)


def test_a_malformed_string_with_credentials_is_named_redacted():
    with pytest.raises(ModelStringError) as info:
        wb.client(f"openai-compat:@http://alice:{SECRET}@host/v1?api-key=sk-{SECRET}")
    assert SECRET not in str(info.value) and "http://***@host/v1?api-key=***" in str(info.value)


def test_an_unknown_sdk_exception_is_raised_as_itself_with_its_text_redacted():
    c = wb.client(f"openai-compat:m@http://alice:{SECRET}@127.0.0.1:9/v1?key=querysecret1")
    exc = RuntimeError(f"odd failure talking to http://alice:{SECRET}@127.0.0.1:9/v1?key=querysecret1")
    out = c._failure(exc, started=False)
    assert out is exc and SECRET not in str(out) and "querysecret1" not in str(out)
    assert "http://***@127.0.0.1:9/v1?key=***" in str(out)
