"""Helpers shared by the command-line tests."""

from zoo.cli import main


def one_line_error(capsys, argv):
    """Runs `zoo ARGV`, asserts exit 2 with exactly one `zoo: error:` line, returns it."""
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("zoo: error:")]
    assert status == 2, err
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    return errors[0]
