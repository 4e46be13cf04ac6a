"""minyi: classify and dispatch Chinese citizen appeals (12345-hotline style)."""

__version__ = "0.1.0"
