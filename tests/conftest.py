"""Shared pytest options."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption("--update-snapshots", action="store_true", default=False,
                     help="rewrite tests/snapshots/ from the current findings instead of comparing")
