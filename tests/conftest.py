"""Shared fixtures. Every file under tests/fixtures is a small real sample (see its README/ATTRIBUTION)."""
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
