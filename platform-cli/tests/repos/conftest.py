"""The promoter's tests validate a commit in nearly every test: they keep the import check
warm, as `adp repos serve` does (each validation then takes about 1 s, not 3 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from adp.validation import keep_warm


@pytest.fixture(autouse=True, scope="package")
def warm_import_check() -> Iterator[None]:
    keep_warm(True)
    yield
    keep_warm(False)
