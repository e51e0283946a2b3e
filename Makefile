# The two commands of the README's quick start, and a few helpers around them.
.PHONY: demo test lint bench bench-command install

install:
	@scripts/bootstrap

demo: install
	@.venv/bin/keukentafel demo

test: install
	@scripts/test

lint: install
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: install
	@.venv/bin/python -m bench.sync_bench

bench-command: install
	@.venv/bin/python -m bench.command_bench
