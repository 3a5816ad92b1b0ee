from dejavu_cli.cli import run

run()
