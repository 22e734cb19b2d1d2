"""The promoter's tests validate a commit in nearly every test: the ones that sync again and
again give their promoter an import-check standby, as `adp repos serve` does (each validation
then takes about 1 s, not 3 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from adp.validation import ImportStandby


@pytest.fixture(scope="package")
def import_standby() -> Iterator[ImportStandby]:
    with ImportStandby() as standby:
        yield standby
