"""``mailer`` run in-process (Typer's runner) against a test project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from mailer.cli import app


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"


@dataclass
class Cli:
    """Runs ``mailer`` in-process against the test project."""

    config: Path

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> CliResult:
        result = CliRunner().invoke(app, ["--config", str(self.config), *args], input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        outcome = CliResult(result.exit_code, result.stdout, result.stderr)
        if ok and result.exit_code != 0:
            raise AssertionError(f"mailer {' '.join(args)} exited {result.exit_code}:\n{outcome}")
        return outcome
