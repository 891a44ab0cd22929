"""Mechanisms shared by checks of several spec documents (no checks here)."""
