"""Install a vosk model from the vosk project's model list, checked before it is unpacked.

The list (``model-list.json``) gives each model's name, URL and MD5. The archive is streamed
to a temporary file, its MD5 compared with the list and its SHA-256 with the one given (when
given; the SHA-256 is printed so operators can pin it), and only then unpacked, refusing any
member that would land outside the target folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_S = 60
_CHUNK = 1 << 20


class ModelInstallError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class InstalledModel:
    path: Path
    sha256: str


OFFLINE_HINT = (
    "without a network, download the model's zip on another machine, unpack it under "
    "var/models/ and set [voice] vosk_model_path to its folder"
)


def _open(url: str) -> Any:
    if not url.startswith(("https://", "http://")):
        raise ModelInstallError(f"refusing to fetch {url!r}: only http(s) URLs")
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise ModelInstallError(f"could not reach {url} ({reason}); {OFFLINE_HINT}") from None


def find_model(list_url: str, name: str) -> dict[str, str]:
    with _open(list_url) as response:
        models = json.load(response)
    for entry in models:
        if entry.get("name") == name:
            return {key: str(value) for key, value in entry.items()}
    vietnamese = sorted(m["name"] for m in models if m.get("lang") == "vn")
    raise ModelInstallError(f"no model {name!r} in {list_url}; Vietnamese models: {vietnamese}")


def install_model(
    name: str, *, list_url: str, models_dir: Path, sha256: str | None = None
) -> InstalledModel:
    """Download, verify and unpack model `name` into ``models_dir/name``."""
    entry = find_model(list_url, name)
    expected_md5 = entry.get("md5", "").lower()
    if not expected_md5 and not sha256:
        raise ModelInstallError(f"{name}: the list gives no checksum; pass --sha256")
    target = models_dir / name
    if target.exists():
        raise ModelInstallError(f"{target} already exists")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as scratch:
        archive = Path(scratch) / "model.zip"
        digest_sha, digest_md5 = hashlib.sha256(), hashlib.md5()
        with _open(entry["url"]) as response, archive.open("wb") as out:
            while chunk := response.read(_CHUNK):
                digest_sha.update(chunk)
                digest_md5.update(chunk)
                out.write(chunk)
        if expected_md5 and digest_md5.hexdigest() != expected_md5:
            raise ModelInstallError(f"{name}: MD5 {digest_md5.hexdigest()} ≠ list {expected_md5}")
        if sha256 and digest_sha.hexdigest() != sha256.lower():
            raise ModelInstallError(f"{name}: SHA-256 {digest_sha.hexdigest()} ≠ {sha256}")
        unpacked = Path(scratch) / "unpacked"
        _safe_unzip(archive, unpacked)
        entries = list(unpacked.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        shutil.move(str(root), target)
    return InstalledModel(target, digest_sha.hexdigest())


def _safe_unzip(archive: Path, destination: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            root = destination.resolve()
            for member in bundle.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise ModelInstallError(f"archive member {member!r} escapes the folder")
            bundle.extractall(destination)
    except zipfile.BadZipFile as error:
        raise ModelInstallError(f"not a zip archive: {error}") from None
