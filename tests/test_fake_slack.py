"""Prove FakeSlack behaves like the Slack Web API as seen by the real ``slack_sdk`` client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_server import Call, FakeSlack


@pytest.fixture
def srv() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def make_client(srv: FakeSlack, token: str | None = "xoxb-test") -> WebClient:
    return WebClient(token=token, base_url=srv.base_url, timeout=5)


def test_base_url_points_at_local_server(srv: FakeSlack) -> None:
    assert srv.base_url == f"http://127.0.0.1:{srv.port}/api/"


def test_auth_test_identifies_the_bot(srv: FakeSlack) -> None:
    resp = make_client(srv).auth_test()
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == ("UBOT", "BBOT", "T1")
    assert resp["user"] == "arxiv-qa"
    assert srv.calls == [Call("auth.test", {})]
    assert srv.tokens == ["xoxb-test"]


def test_post_message_records_thread_ts_and_increments_ts(srv: FakeSlack) -> None:
    client = make_client(srv)
    first = client.chat_postMessage(channel="C1", text="hello", thread_ts="1699.0001")
    second = client.chat_postMessage(channel="C1", text="again")
    assert (first["ts"], second["ts"]) == ("1700000000.000100", "1700000000.000200")
    assert first["channel"] == "C1" and first["message"]["thread_ts"] == "1699.0001"
    posted = srv.posted()
    assert [p["text"] for p in posted] == ["hello", "again"]
    assert posted[0]["thread_ts"] == "1699.0001" and "thread_ts" not in posted[1]


def test_post_message_keeps_json_structure_of_blocks(srv: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    make_client(srv).chat_postMessage(channel="C1", text="hi", blocks=blocks)
    assert srv.posted()[0]["blocks"] == blocks


def test_chat_update_is_ok(srv: FakeSlack) -> None:
    resp = make_client(srv).chat_update(channel="C1", ts="1700000000.000100", text="edited")
    assert resp["ok"] and resp["text"] == "edited"
    assert srv.calls_of("chat.update")[0]["ts"] == "1700000000.000100"


def test_reactions_are_recorded(srv: FakeSlack) -> None:
    client = make_client(srv)
    client.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    client.reactions_remove(channel="C1", timestamp="1.1", name="eyes")
    expected = {"channel": "C1", "timestamp": "1.1", "name": "eyes"}
    assert srv.calls_of("reactions.add") == [expected]
    assert srv.calls_of("reactions.remove") == [expected]


def test_conversations_replies_returns_configured_thread(srv: FakeSlack) -> None:
    thread = [
        {"type": "message", "user": "U1", "text": "what is BERT?", "ts": "1.1"},
        {"type": "message", "user": "UBOT", "text": "A model.", "ts": "1.2"},
    ]
    srv.threads[("C1", "1.1")] = thread
    client = make_client(srv)
    assert client.conversations_replies(channel="C1", ts="1.1")["messages"] == thread
    assert client.conversations_replies(channel="C1", ts="9.9")["messages"] == []


def test_fail_injection_fails_once(srv: FakeSlack) -> None:
    srv.fail["chat.postMessage"] = "ratelimited"
    client = make_client(srv)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="first")
    assert info.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="second")["ok"]
    assert len(srv.posted()) == 2


def test_socket_mode_open_is_refused_unless_configured(srv: FakeSlack) -> None:
    client = make_client(srv)
    with pytest.raises(SlackApiError):
        client.apps_connections_open(app_token="xapp-test")
    srv.responses["apps.connections.open"] = {"ok": True, "url": "ws://127.0.0.1:1/"}
    assert client.apps_connections_open(app_token="xapp-test")["url"] == "ws://127.0.0.1:1/"
    assert srv.tokens[-1] == "xapp-test"


def test_callable_response_override(srv: FakeSlack) -> None:
    srv.responses["users.info"] = lambda p: {"ok": True, "user": {"id": p["user"]}}
    assert make_client(srv).users_info(user="U7")["user"] == {"id": "U7"}


def test_unknown_method_is_ok_and_json_body_accepted(srv: FakeSlack) -> None:
    resp = make_client(srv).api_call("bookmarks.list", json={"channel_id": "C1", "n": 2})
    assert resp["ok"]
    assert srv.calls[-1] == Call("bookmarks.list", {"channel_id": "C1", "n": 2})


def test_token_in_form_field_is_recorded_and_stripped(srv: FakeSlack) -> None:
    make_client(srv, token=None).api_call("auth.test", params={"token": "xoxb-field"})
    assert srv.tokens == ["xoxb-field"]
    assert srv.calls == [Call("auth.test", {})]


def test_require_token_rejects_other_tokens() -> None:
    with FakeSlack(require_token="xoxb-good") as srv:
        with pytest.raises(SlackApiError) as info:
            make_client(srv, token="xoxb-bad").auth_test()
        assert info.value.response["error"] == "invalid_auth"
        assert make_client(srv, token="xoxb-good").auth_test()["ok"]
