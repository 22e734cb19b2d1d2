"""Search a `docker save` archive for strings that must not be in an image (secrets).

Every file of every layer is read, so a string a later layer deleted is still found; file
names are searched too, and so are the image config and manifests (env, labels, history).
Works with both archive layouts Docker writes: `<id>/layer.tar` and OCI `blobs/sha256/...`.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Iterable, Iterator
from itertools import chain


def scan_saved_image(
    saved: bytes | Iterable[bytes], needles: Iterable[bytes]
) -> dict[bytes, list[str]]:
    """Per needle, the places in the archive `saved` (bytes, or chunks as the Docker SDK's
    `image.save()` yields them) that hold it: `member`, `member:path` or `member:path#name`."""
    data = saved if isinstance(saved, bytes) else b"".join(saved)
    hits: dict[bytes, list[str]] = {needle: [] for needle in needles}
    with tarfile.open(fileobj=io.BytesIO(data)) as outer:
        for member in outer:
            if not member.isfile():
                continue
            blob = outer.extractfile(member).read()  # type: ignore[union-attr]
            for place, content in chain([(member.name, blob)], _layer_files(member.name, blob)):
                for needle, places in hits.items():
                    if needle in content:
                        places.append(place)
    return hits


def scan_image_with_cli(
    docker_cli: str, image: str, needles: Iterable[bytes]
) -> dict[bytes, list[str]]:
    """:func:`scan_saved_image` on `docker save <image>`, run with the CLI `docker_cli`."""
    saved = subprocess.run([docker_cli, "save", image], capture_output=True, check=True).stdout
    return scan_saved_image(saved, needles)


def _layer_files(name: str, blob: bytes) -> Iterator[tuple[str, bytes]]:
    """(place, content) for each file in the layer tarball `blob` and for its name; nothing
    when `blob` is not a tarball (an image config or a manifest)."""
    if not (name.endswith("layer.tar") or blob[257:262] == b"ustar"):
        return
    with tarfile.open(fileobj=io.BytesIO(blob)) as layer:
        for entry in layer:
            if entry.isfile():
                yield f"{name}:{entry.name}", layer.extractfile(entry).read()  # type: ignore[union-attr]
            yield f"{name}:{entry.name}#name", entry.name.encode()
