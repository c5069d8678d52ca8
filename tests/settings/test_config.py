from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailer.exceptions import ConfigError
from mailer.settings import load_settings
from tests.support.cli import Cli
from tests.support.config import write_config


def test_init_writes_a_commented_config_and_creates_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILER_CONFIG", raising=False)
    Cli(tmp_path / "mailer.toml")  # not used: init must work without a config
    from typer.testing import CliRunner

    from mailer.cli import app

    result = CliRunner().invoke(app, ["init", "--name", "The Daily", "--from", "news@daily.org"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "mailer.toml").read_text()
    assert text.count("#") > 10  # commented
    assert (tmp_path / "var" / "mailer.db").is_file()
    settings = load_settings()
    assert settings.publisher_name == "The Daily"
    assert settings.from_address == "news@daily.org"
    assert settings.outbox_dir == tmp_path / "var" / "outbox"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'mailer.db'}"
    assert len(settings.secret_key.get_secret_value()) >= 32
    # A second init refuses to overwrite what is there.
    again = CliRunner().invoke(app, ["init"])
    assert again.exit_code == 1
    assert "exists already" in again.stderr


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db")
    monkeypatch.setenv("MAILER_BACKEND", "smtp")
    monkeypatch.setenv("MAILER_PUBLISHER_NAME", "From the environment")
    settings = load_settings(path)
    assert settings.backend == "smtp"
    assert settings.publisher_name == "From the environment"
    # Relative SQLite paths are resolved against the config file's folder.
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'x.db'}"


def test_an_invalid_setting_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", backend='"carrier-pigeon"')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: backend: ")
    assert "'outbox'" in message


def test_an_invalid_environment_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db")
    monkeypatch.setenv("MAILER_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="environment variable MAILER_TIMEZONE: timezone: "):
        load_settings(path)


def test_a_bad_dkim_key_or_an_empty_smtp_url_from_the_environment_is_blamed_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db")
    (tmp_path / "bad.pem").write_text("not a key")
    monkeypatch.setenv("MAILER_DKIM_PRIVATE_KEY", "bad.pem")
    monkeypatch.setenv("MAILER_DKIM_SELECTOR", "s1")
    monkeypatch.setenv("MAILER_DKIM_DOMAIN", "example.org")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(
        "environment variable MAILER_DKIM_PRIVATE_KEY: dkim_private_key: "
    )
    monkeypatch.delenv("MAILER_DKIM_PRIVATE_KEY")
    monkeypatch.delenv("MAILER_DKIM_SELECTOR")
    monkeypatch.delenv("MAILER_DKIM_DOMAIN")
    monkeypatch.setenv("MAILER_SMTP_URL", "")
    with pytest.raises(ConfigError, match="MAILER_SMTP_URL: smtp_url: is empty"):
        load_settings(path)


def test_a_redis_url_is_checked_blank_is_unset_and_its_password_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", redis_url='"http://:hunter2@cache:6379"')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: redis_url: must be a redis://, rediss:// or unix:// URL (not http:...)"
    )
    monkeypatch.setenv("MAILER_REDIS_URL", "redis://:hunter2@cache:six/0")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(
        "environment variable MAILER_REDIS_URL: redis_url: is not a Redis URL: Port "
    )
    monkeypatch.setenv("MAILER_REDIS_URL", " ")
    assert load_settings(path).redis_url is None
    monkeypatch.setenv("MAILER_REDIS_URL", "rediss://:hunter2@cache:6380/1")
    settings = load_settings(path)
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "rediss://:hunter2@cache:6380/1"
    assert "hunter2" not in repr(settings) + str(settings.model_dump())
    monkeypatch.delenv("MAILER_REDIS_URL")
    unix = write_config(tmp_path, "sqlite:///var/x.db", redis_url='"unix:///run/redis.sock?db=2"')
    assert load_settings(unix).redis_url is not None


def test_a_missing_secret_is_reported_without_printing_secrets(tmp_path: Path) -> None:
    path = tmp_path / "mailer.toml"
    path.write_text('from_address = "a@example.org"\n')
    with pytest.raises(ConfigError, match="secret_key: missing"):
        load_settings(path)
    path.write_text('secret_key = "short-secret"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "short-secret" not in str(caught.value)


def test_secrets_do_not_show_in_the_settings_repr(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "sqlite:///var/x.db", smtp_url='"smtp://u:hunter2@mail.example.org:587"'
    )
    settings = load_settings(path)
    shown = repr(settings) + str(settings.model_dump())
    assert "hunter2" not in shown
    assert "test-secret-key" not in shown


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mailer.toml"
    path.write_text('secret_key = "0123456789abcdef0123"\nbackend = \n')
    with pytest.raises(ConfigError, match=r"mailer.toml: not valid TOML: .*line 2"):
        load_settings(path)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", form_address='"typo@example.org"')
    with pytest.raises(ConfigError, match="form_address: Extra inputs are not permitted"):
        load_settings(path)


def test_a_named_config_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    return subprocess.run(
        [sys.executable, "-m", "mailer", *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_command_prints_one_line_errors_not_tracebacks(tmp_path: Path) -> None:
    write_config(tmp_path, "sqlite:///var/x.db", backend='"pigeon"')
    result = _run("lists", "ls", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "backend:" in result.stderr


def test_python_dash_m_and_the_console_script(tmp_path: Path) -> None:
    assert "Usage" in _run("--help", cwd=tmp_path).stdout
    script = Path(sys.executable).with_name("mailer")
    assert script.is_file()
    result = subprocess.run([str(script), "--help"], check=False, capture_output=True, text=True)
    assert "subscribers" in result.stdout
