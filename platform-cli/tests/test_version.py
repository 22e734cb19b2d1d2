from adp import __version__
from adp.cli.main import app
from typer.testing import CliRunner


def test_version_command_prints_installed_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == __version__
    assert __version__ != "0.0.0+unknown"
