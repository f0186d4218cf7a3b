"""Statements true of the real vendor too: run them in-process (default) or against a base URL."""
