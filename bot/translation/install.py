"""Installing Argos packages into the configured directory (`lotsen translate ...`)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import ModuleType

from bot.translation.service import import_argos_package


class InstallError(Exception):
    pass


def _argos(packages_dir: Path) -> ModuleType:
    argos = import_argos_package(packages_dir)
    if argos is None:
        raise InstallError(
            "the optional extra 'translation' is not installed: pip install -e '.[translation]'"
        )
    # argostranslate installs into the directory its settings name; it read them on import,
    # perhaps for another directory, so it is told again.
    argos.settings.package_data_dir = packages_dir
    return argos


def package_pair(path: Path) -> tuple[str, str]:
    """The language pair of an .argosmodel file; refuses a file that is not a package.

    Checked before extracting, so that a wrong file leaves nothing behind.
    """
    if not zipfile.is_zipfile(path):
        raise InstallError(f"{path}: not an Argos package (.argosmodel is a zip archive)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        metadata_names = [n for n in names if n.count("/") == 1 and n.endswith("/metadata.json")]
        if len(tops) != 1 or len(metadata_names) != 1:
            raise InstallError(f"{path}: expected one directory holding metadata.json")
        metadata = json.loads(archive.read(metadata_names[0]))
    from_code, to_code = metadata.get("from_code"), metadata.get("to_code")
    if not from_code or not to_code:
        raise InstallError(f"{path}: metadata.json names no from_code and to_code")
    return str(from_code), str(to_code)


def install_file(path: Path, packages_dir: Path) -> tuple[str, str]:
    """Install a downloaded .argosmodel without any network access."""
    pair = package_pair(path)
    argos = _argos(packages_dir)
    packages_dir.mkdir(parents=True, exist_ok=True)
    argos.install_from_path(path)
    return pair


def install_from_index(source: str, target: str, packages_dir: Path) -> tuple[str, str]:
    """Download and install the package for a pair from argospm's index (needs internet)."""
    argos = _argos(packages_dir)
    packages_dir.mkdir(parents=True, exist_ok=True)
    argos.update_package_index()
    for available in argos.get_available_packages():
        if available.from_code == source and available.to_code == target:
            downloaded = available.download()
            try:
                return install_file(Path(downloaded), packages_dir)
            finally:
                Path(downloaded).unlink(missing_ok=True)
    raise InstallError(f"argospm's index has no package {source}→{target} (or was unreachable)")
