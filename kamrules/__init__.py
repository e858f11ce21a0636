"""kamrules: key account management rules engine and report generator."""

__version__ = "0.1.0"
