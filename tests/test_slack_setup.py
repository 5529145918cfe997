"""Setting up the Slack bot: `arxiv-qa slack` options and tokens, connecting, the app manifest, the README."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from slack_sdk import WebClient

from qa.answer.engine import QA
from qa.errors import QAError
from qa.settings import Settings
from tests.conftest import MODEL_CACHE, ROOT, make_settings, run_cli
from tests.fakes.slack_server import FakeSlack
from ui.cli import main
from ui.slack.bot import build_app, connect, http_server, serve_socket_mode, slack_tokens

BOT = "xoxb-PLANTED-bot-4411"
APP = "xapp-PLANTED-app-5522"
SECRET = "PLANTED-secret-6633"
PLANTED = (BOT, APP, SECRET)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def invoke(*args: str, env: dict[str, str] | None = None, store: Path | None = None) -> tuple[int, str]:
    full = ["--store", str(store)] if store else []
    result = CliRunner().invoke(main, [*full, "slack", *args], env=env or {})
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "env", "missing"), [
    ([], {}, "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are"),
    ([], {"SLACK_BOT_TOKEN": BOT}, "SLACK_APP_TOKEN is"),
    ([], {"SLACK_APP_TOKEN": APP}, "SLACK_BOT_TOKEN is"),
    ([], {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": "  "}, "SLACK_APP_TOKEN is"),
    ([], {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SECRET}, "SLACK_APP_TOKEN is"),
    (["--http"], {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP}, "SLACK_SIGNING_SECRET is"),
    (["--http"], {"SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN is"),
    (["--http", "--port", "3001"], {}, "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are"),
])
def test_missing_tokens_exit_2_naming_the_variable(args: list[str], env: dict[str, str], missing: str) -> None:
    code, output = invoke(*args, env=env)
    assert code == 2
    assert output.startswith(f"arxiv-qa: {missing} not set (") and output.count("\n") == 1
    assert not any(value in output for value in PLANTED)


def test_bot_token_in_place_of_the_app_token_is_refused() -> None:
    code, output = invoke(env={"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": BOT})
    assert code == 2 and "SLACK_APP_TOKEN is not an app-level token" in output
    assert BOT not in output


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "70000"], ["--port", "x"], ["--socket"]])
def test_bad_options_exit_2(args: list[str]) -> None:
    assert invoke(*args)[0] == 2


def test_empty_store_exit_2(tmp_path: Path) -> None:
    code, output = invoke(env={"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP}, store=tmp_path / "empty")
    assert code == 2 and "is empty: run `arxiv-qa ingest` first" in output


@pytest.mark.slow
def test_missing_token_from_the_command_line_process() -> None:
    done = run_cli("slack", "--http", env={"SLACK_BOT_TOKEN": BOT}, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "SLACK_SIGNING_SECRET" in done.stderr and BOT not in done.stderr + done.stdout


def test_help_shows_the_modes() -> None:
    code, output = invoke("--help")
    assert code == 0 and "Socket Mode" in output and "--http" in output and "127.0.0.1" in output


@pytest.mark.parametrize(("http", "expected"), [(False, (BOT, APP, "")), (True, (BOT, "", SECRET))])
def test_slack_tokens_of_each_mode(tmp_path: Path, http: bool, expected: tuple[str, str, str]) -> None:
    settings = make_settings(tmp_path, slack_bot_token=BOT, slack_app_token=APP, slack_signing_secret=SECRET)
    tokens = slack_tokens(settings, http)
    assert (tokens.bot, tokens.app, tokens.signing_secret) == expected
    assert not any(value in repr(settings) for value in PLANTED)  # SecretStr all the way


def test_connect_reports_a_rejected_token_without_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeSlack(require_token="xoxb-the-right-one") as fake:
        with pytest.raises(QAError, match=r"^Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)$"):
            connect(BOT, base_url=fake.base_url)
        assert connect("xoxb-the-right-one", base_url=fake.base_url).token == "xoxb-the-right-one"
    assert BOT not in caplog.text


@pytest.mark.slow
def test_socket_mode_refused_is_a_one_line_error(fake: FakeSlack, corpus_store: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = build_app(QA(corpus_store), WebClient(token=BOT, base_url=fake.base_url))
    with pytest.raises(QAError) as info:
        serve_socket_mode(app, APP)
    assert str(info.value) == "Slack refused the Socket Mode connection (not_allowed): check SLACK_APP_TOKEN"
    assert fake.tokens[-1] == APP  # apps.connections.open was called with the app token...
    assert not any(value in caplog.text for value in PLANTED)  # ...which was never logged


@pytest.mark.slow
def test_socket_mode_is_the_default_and_fails_in_one_line(fake: FakeSlack, corpus_store: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`arxiv-qa slack` with both tokens: bot token checked, then Socket Mode opened with the app token
    (refused by the fake, as Slack refuses an app without Socket Mode enabled): exit 1, one line."""
    monkeypatch.setattr("ui.slack.bot.connect", partial(connect, base_url=fake.base_url))
    monkeypatch.setattr("ui.slack.bot.serve_http", lambda *a: pytest.fail("HTTP mode started"))
    env = {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_SIGNING_SECRET": SECRET,
           "ARXIV_QA_MODEL_CACHE": str(MODEL_CACHE)}
    code, output = invoke(env=env, store=corpus_store.store)
    assert code == 1
    error = "arxiv-qa: Slack refused the Socket Mode connection (not_allowed): check SLACK_APP_TOKEN"
    assert output.splitlines()[-1] == error
    assert "connecting over Socket Mode" in output  # the log, on stderr
    assert [call.method for call in fake.calls] == ["auth.test", "apps.connections.open"]
    assert fake.tokens == [BOT, APP]
    assert not any(value in output for value in PLANTED)


def test_http_server_binds_the_given_address(corpus_store: Settings, fake: FakeSlack) -> None:
    app = build_app(QA(corpus_store), WebClient(token=BOT, base_url=fake.base_url), SECRET)
    server = http_server(app, "127.0.0.1", 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        with pytest.raises(QAError, match=r"^cannot listen on 127\.0\.0\.1:\d+ "):
            http_server(app, "127.0.0.1", server.server_address[1])
    finally:
        server.server_close()


def test_cli_defaults_to_localhost() -> None:
    from ui.cli import slack

    defaults = {p.name: p.default for p in slack.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 3000


def test_manifest_declares_what_the_bot_needs() -> None:
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "chat:write", "reactions:write", "channels:history", "groups:history", "mpim:history",
        "im:history", "im:read", "im:write",
    }
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"] == "arxiv-qa"
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # people can write to it


def test_readme_sets_it_up_in_five_steps() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Slack bot: set up in five steps", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^(\d)\. ", section, re.MULTILINE) == ["1", "2", "3", "4", "5"]
    for needed in ("slack/manifest.yml", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                   "arxiv-qa slack", "--http"):
        assert needed in section

