"""👍/👎 feedback on answers, appended as JSON lines to <store>/feedback.jsonl.

A vote is one line (`vote`: up, down, or none when taken back; `comment` null); a comment sent after
a 👎 is a further line about the same answer with `vote` "comment", so votes are counted once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import StoreError
from qa.types import Answer

FEEDBACK_FILE = "feedback.jsonl"
MAX_COMMENT_CHARS = 2000
_lock = threading.Lock()  # one line at a time, whichever session votes


def feedback_record(answer: Answer, vote: str, comment: str | None = None) -> dict[str, Any]:
    """The line written for one vote on `answer`: "up", "down", "none" (a vote taken back) or "comment"."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": answer.question,
        "answer": answer.answer,
        "citations": [asdict(c) for c in answer.citations],
        "vote": vote,
        "comment": comment,
        "mode": answer.mode,
        "model": answer.model,
    }


def record_feedback(path: Path, answer: Answer, vote: str, comment: str | None = None) -> dict[str, Any]:
    """Append one vote (or comment) to the feedback file; StoreError if it cannot be written."""
    record = feedback_record(answer, vote, comment)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, path.open("a", encoding="utf-8") as f:
            f.write(line)
    except OSError as e:
        raise StoreError(f"cannot write feedback to {path}: {e.strerror}") from None
    return record
