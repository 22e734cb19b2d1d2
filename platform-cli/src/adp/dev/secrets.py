"""The secrets of one local stack: generated once, kept in a 0600 file outside the project.

Every Airflow process of a stack must share one JWT secret (otherwise each generates its
own and every task fails with "Invalid auth token"), and all of them the metadata database
password. They are random per stack, written only to `secrets.env` in the stack's state
folder (mode 0600), and reach the containers through compose's env_file: never the rendered
compose file, the datakit folder (which the image build copies) or a log.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from adp import envfile, fsatomic

FILE_NAME = "secrets.env"


def generate() -> dict[str, str]:
    password = secrets.token_urlsafe(24)
    return {
        "POSTGRES_PASSWORD": password,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql://postgres:{password}@postgres:5432/postgres"
        ),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def read(path: Path) -> dict[str, str]:
    return envfile.values(path.read_text(), str(path), skip_bad=True)


def ensure(folder: Path) -> Path:
    """`folder/secrets.env`, created with fresh secrets (mode 0600) when missing, kept
    otherwise: the metadata database volume holds the first password."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / FILE_NAME
    if path.exists():
        os.chmod(path, 0o600)
        return path
    lines = ["# Secrets of one local Airflow stack (adp dev). Never commit or share."]
    lines += [f"{key}={value}" for key, value in generate().items()]
    fsatomic.write_text(path, "\n".join(lines) + "\n", mode=0o600)
    return path
