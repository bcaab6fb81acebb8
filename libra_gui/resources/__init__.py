"""Package data read with importlib.resources (the alias word list); no code."""
