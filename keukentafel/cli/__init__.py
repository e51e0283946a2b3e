"""The ``keukentafel`` command line: the commands in ``cli.app`` (the Typer ``app`` in it is the
console entry point), all printing in ``cli.present``.

This package imports nothing itself, so the demo can import ``present`` without the commands: the
demo and the command line do not import each other.
"""
