"""Settings: one object reads the environment; .env.example documents every field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias.choices[0] if alias is not None else f"ARXIV_QA_{name.upper()}")  # type: ignore[union-attr]
    return names


def test_env_example_lists_every_setting_and_no_secret() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^# ([A-Z_]+)=", text, re.MULTILINE))
    assert listed == env_names()
    assert all(field.description for field in Settings.model_fields.values())
    assert not re.search(r"(sk-|xox[bpa]-|xapp-)\w", text)


def test_environment_and_aliases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARXIV_QA_STORE", str(tmp_path / "x"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-secret")
    monkeypatch.setenv("ARXIV_QA_TOP_K", "9")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.store == tmp_path / "x" and s.top_k == 9 and s.llm_configured
    assert "sk-planted-secret" not in repr(s) and "sk-planted-secret" not in str(s.model_dump())


def test_defaults_are_offline_and_local() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.host == "127.0.0.1" and not s.llm_configured and s.embed_model == "bundled"


def test_bad_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARXIV_QA_TOP_K", "0")
    with pytest.raises(ValueError, match="top_k"):
        Settings(_env_file=None)  # type: ignore[call-arg]


SECRET_ENV = {"OPENAI_API_KEY": "openai_api_key", "ARXIV_QA_AUTH": "auth", "ARXIV_QA_API_TOKEN": "api_token",
              "SLACK_BOT_TOKEN": "slack_bot_token", "SLACK_APP_TOKEN": "slack_app_token",
              "SLACK_SIGNING_SECRET": "slack_signing_secret", "OPENAI_BASE_URL": "openai_base_url"}


@pytest.mark.parametrize("blank", ["", " ", "\t  "])
@pytest.mark.parametrize(("env", "field"), SECRET_ENV.items())
def test_empty_secret_is_unset(monkeypatch: pytest.MonkeyPatch, env: str, field: str, blank: str) -> None:
    monkeypatch.setenv(env, blank)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert getattr(s, field) is None and s.secret(field) is None
    assert not s.llm_configured and s.secret_values() == []


def test_empty_secret_in_a_env_file_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ARXIV_QA_API_TOKEN=\nARXIV_QA_AUTH=   \nOPENAI_API_KEY=''\n")
    s = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert s.api_token is None and s.auth is None and s.openai_api_key is None


def test_blank_secret_set_without_validation_is_unset_too(tmp_path: Path) -> None:
    s = Settings(_env_file=None).model_copy(update={"api_token": SecretStr("  ")})  # type: ignore[call-arg]
    assert s.secret("api_token") is None
    assert s.model_copy(update={"api_token": SecretStr("t0k")}).secret("api_token") == "t0k"
