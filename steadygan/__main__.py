from steadygan.cli import entry

entry()
