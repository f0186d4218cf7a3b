"""Standin: a stateful reference server for three vendor APIs, driven by their OpenAPI documents."""
