"""Where the stack under test runs. Tests never know which: they get a `Target`."""
