"""Content and municipality settings reloaded while the processes run.

Every process (each app process, the action server) looks every
`LOTSEN_CONTENT_CHECK_SECONDS` whether a file under `LOTSEN_CONTENT_DIR` or
`LOTSEN_MUNICIPALITIES_DIR` changed: its version stamp is a hash of every file's name, size,
modification time and inode, so the look costs a directory walk and no file is read. When
the stamp changed, the process reads all of it again, off the event loop, and only when
everything loads does it put the new content and municipalities in its runtime
(`Runtime.replace`), both at once. A broken edit (a YAML error, a wrong shape, a
municipality file whose id is wrong) is logged as an error and the process goes on with what
it had: never a crash, never half the new files. Once the files are mended the next look
loads them.

An edit is therefore live in every process within a few seconds, with no restart and no
command; on several machines each machine's files are its own (deploy them to every one).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from bot.municipality import MUNICIPALITIES, Municipalities
from bot.nlg.content import CONTENT, load_catalog
from bot.runtime import Runtime

logger = logging.getLogger(__name__)


def version_stamp(*directories: Path) -> str:
    """A hash of the names, sizes, modification times and inodes of the files under
    `directories` (no file is read)."""
    digest = hashlib.sha256()
    for directory in directories:
        digest.update(str(directory).encode())
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while we looked: the next look sees it gone
            if not path.is_file():
                continue
            digest.update(
                f"{path.relative_to(directory)}\0{stat.st_size}\0{stat.st_mtime_ns}\0"
                f"{stat.st_ino}\n".encode()
            )
    return digest.hexdigest()


class ContentReloader:
    """Looks at the runtime's content and municipality files; reloads them when changed."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.directories = (settings.lotsen_content_dir, settings.lotsen_municipalities_dir)
        # The files as they are now, and what the runtime builds from them at once (an
        # edit between the two is seen by the first look and loaded again).
        self.stamp = version_stamp(*self.directories)
        runtime.get(CONTENT)
        runtime.get(MUNICIPALITIES)

    def check(self) -> bool:
        """Blocking (run it in a thread): True when new content was put in place."""
        stamp = version_stamp(*self.directories)
        if stamp == self.stamp:
            return False
        # Remembered whether or not it loads: a broken edit is reported once, not every look.
        self.stamp = stamp
        content_dir, municipalities_dir = self.directories
        try:
            catalog = load_catalog(content_dir)
            municipalities = Municipalities(municipalities_dir)
            municipalities.load_all()
        except Exception as error:
            logger.error(
                "content or municipality files changed but do not load, so the previous "
                "ones stay in use until they are mended: %s",
                error,
            )
            return False
        self.runtime.replace(CONTENT, catalog)
        self.runtime.replace(MUNICIPALITIES, municipalities)
        logger.info("content and municipality settings reloaded")
        return True


async def watch_content(reloader: ContentReloader, interval_seconds: float) -> None:
    """Looks every `interval_seconds` until cancelled (the app's and the action server's
    background task). The reloader is made before the process serves, so an edit made
    after that is never taken for the starting state."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await asyncio.to_thread(reloader.check)
        except Exception:
            logger.exception("looking for changed content failed; looking again later")
