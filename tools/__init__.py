"""Developer tools (not shipped): screenshots of the desktop app."""
