"""`tf-migrate`: every subcommand is listed, has --help with an example, and --help stays TensorFlow-free."""

import subprocess
import sys

import pytest

from migrate.cli import COMMANDS, build_parser, main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("legacy", "port", "inspect", "convert", "parity", "codemod", "demo"):
        assert f"    {name} " in out
    assert set(COMMANDS) == {"legacy", "port", "inspect", "convert", "export", "parity", "codemod", "demo"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"tf-migrate {command}" in out


def test_no_command_prints_help_and_exits_0(capsys):
    assert main([]) == 0
    assert "usage: tf-migrate" in capsys.readouterr().out


def test_building_the_parser_imports_no_tensorflow():
    code = ("import sys; from migrate.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras', 'libcst') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unusable_input_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "migrate", "inspect", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tf-migrate inspect: error: ") and "missing" in lines[0]
    assert "absl" not in proc.stderr and "oneDNN" not in proc.stderr  # TensorFlow's start-up lines are hidden


def test_parser_is_reusable():
    assert build_parser().parse_args(["codemod", "x.py"]).command == "codemod"
