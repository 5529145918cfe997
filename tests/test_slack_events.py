"""Which Slack events the bot answers, how deliveries are deduplicated, and how a thread becomes history."""

from __future__ import annotations

from typing import Any

import pytest

from ui.slack.bot import SeenEvents, delivery_keys, thread_history, wants_answer

MENTION = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.000100", "channel": "C1"}
DM = {"type": "message", "channel_type": "im", "user": "U1", "text": "hi", "ts": "1.000100", "channel": "D1"}


@pytest.mark.parametrize("event", [
    MENTION,
    DM,
    {**MENTION, "thread_ts": "0.5"},
    {**DM, "subtype": "file_share"},
    {**MENTION, "subtype": "thread_broadcast"},
])
def test_questions_from_people_are_answered(event: dict[str, Any]) -> None:
    assert wants_answer(event, "UBOT")


@pytest.mark.parametrize(("event", "why"), [
    ({**DM, "user": "UBOT"}, "its own message"),
    ({**DM, "user": "UBOT", "bot_id": "BBOT"}, "its own bot message"),
    ({**DM, "user": None, "bot_id": "B2", "subtype": "bot_message"}, "another bot"),
    ({**MENTION, "user": "U2", "bot_id": "B2"}, "another bot mentioning it"),
    ({**DM, "subtype": "bot_message"}, "bot_message subtype"),
    ({**DM, "subtype": "message_changed"}, "an edit"),
    ({**DM, "subtype": "message_deleted"}, "a deletion"),
    ({**DM, "subtype": "channel_join"}, "a join"),
    ({**DM, "channel_type": "channel"}, "a channel message without a mention"),
    ({k: v for k, v in DM.items() if k != "user"}, "no user"),
    ({k: v for k, v in MENTION.items() if k != "channel"}, "no channel"),
])
def test_other_events_are_ignored(event: dict[str, Any], why: str) -> None:
    assert not wants_answer(event, "UBOT"), why


def test_delivery_keys_name_the_event_and_the_message() -> None:
    body = {"type": "event_callback", "event_id": "Ev1", "event": MENTION}
    assert delivery_keys(body) == ["event:Ev1", "message:C1/1.000100"]
    assert delivery_keys({"type": "event_callback", "event": {"type": "x"}}) == []


def test_seen_events_recognise_a_repeat_by_any_key() -> None:
    seen = SeenEvents()
    assert seen.first_time(["event:Ev1", "message:C1/1"])
    assert not seen.first_time(["event:Ev1", "message:C1/1"])  # a retry
    assert not seen.first_time(["event:Ev2", "message:C1/1"])  # the same message as another event type
    assert seen.first_time(["event:Ev3", "message:C1/2"])


def test_seen_events_forget_after_ttl() -> None:
    now = [0.0]
    seen = SeenEvents(ttl=60, clock=lambda: now[0])
    assert seen.first_time(["a"])
    now[0] = 59
    assert not seen.first_time(["a"])
    now[0] = 59 + 61
    assert seen.first_time(["a"])


def test_seen_events_are_bounded() -> None:
    seen = SeenEvents(size=100)
    for n in range(1000):
        assert seen.first_time([f"event:{n}"])
    assert len(seen._seen) == 100
    assert not seen.first_time(["event:999"])
    assert seen.first_time(["event:0"])  # the oldest were dropped


def test_thread_history_roles_and_order() -> None:
    thread = [
        {"user": "U1", "text": "<@UBOT> What is Qwen3 Embedding?", "ts": "1699000000.000100"},
        {"user": "UBOT", "bot_id": "BBOT", "ts": "1699000000.000200",
         "text": "A series [<https://arxiv.org/abs/2506.05176|arXiv:2506.05176>] &amp; more."},
        {"bot_id": "BBOT", "subtype": "bot_message", "text": "Sorry — x.", "ts": "1699000000.000250"},
        {"user": "U2", "text": "", "ts": "1699000000.000260"},
        {"user": "U2", "text": "<@UBOT> and what sizes?", "ts": "1699000000.000300"},
        {"user": "U1", "text": "later", "ts": "1699000000.000400"},
    ]
    assert thread_history(thread, "1699000000.000300", "UBOT", "BBOT") == [
        {"role": "user", "content": "What is Qwen3 Embedding?"},
        {"role": "assistant", "content": "A series [arXiv:2506.05176] & more."},
        {"role": "assistant", "content": "Sorry — x."},
    ]


def test_thread_history_compares_timestamps_exactly() -> None:
    # As floats these two are equal; as Slack timestamps they are not.
    thread = [{"user": "U1", "text": "earlier", "ts": "1699000000.0000011"}]
    assert thread_history(thread, "1699000000.0000012", "UBOT", "BBOT") == [{"role": "user", "content": "earlier"}]
    assert thread_history([{"user": "U1", "text": "x", "ts": "bad"}], "1.1", "UBOT", None) == []


def test_thread_history_keeps_the_latest_turns() -> None:
    thread = [{"user": "U1", "text": f"q{n}", "ts": f"1.{n:06d}"} for n in range(50)]
    history = thread_history(thread, "2.0", "UBOT", "BBOT")
    assert len(history) == 20 and history[-1]["content"] == "q49"
