"""Hot reload: watch the playbook files and swap in every valid change without a restart.

Each file is reloaded on its own, with the same checks as `groundswell check`. A file with
an error keeps running its last good version (a file that never had one stays out, as at
start-up), its errors are logged as `path:line:col: error: message` and a failure is
counted, while the changes to the other files go live. Warnings do not block a change: it
goes live and each warning is logged. Staff can save half-finished edits without ever
silencing monitoring, theirs or anyone else's.

Directories are watched rather than files, because editors save by writing a new file and
renaming it over the old one, which a watch on the file itself would lose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import Change, awatch

from watcher.playbooks.model import Playbook, check_playbooks

log = logging.getLogger("groundswell")

#: Quiet time after the last change before reloading, so a burst of saves reloads once.
DEBOUNCE_MS = 400
_SUFFIXES = (".yaml", ".yml")

Apply = Callable[[Sequence[Playbook]], dict[str, str]]
Report = Callable[[bool], None]


class PlaybookReloader:
    """Reload the playbooks at `paths` when their files change; `apply` swaps them in.

    `report(ok)` is called after every attempt (for metrics). `reload()` can be called
    directly too, for a reload on demand.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        apply: Apply,
        report: Report | None = None,
        *,
        debounce_ms: int = DEBOUNCE_MS,
        polling: bool = False,
    ) -> None:
        self.paths = list(paths)
        self.apply = apply
        self.report = report
        self.debounce_ms = debounce_ms
        self.polling = polling  # poll file times instead of OS notifications
        self.dirs = sorted({(p if p.is_dir() else p.parent).resolve() for p in self.paths})
        self._files = {p.resolve() for p in self.paths if not p.is_dir()}
        self._whole_dirs = {p.resolve() for p in self.paths if p.is_dir()}
        self._names = [str(p) for p in self.paths]
        #: The last good version of each playbook file, by path, as start-up loaded it.
        checked = check_playbooks(self.paths)
        self._good: dict[str, Playbook] = dict(zip(checked.files, checked.playbooks, strict=True))
        #: Files with errors that run no version at all (named on /readyz).
        self.skipped: tuple[str, ...] = checked.skipped

    def relevant(self, _: Change, name: str) -> bool:
        """Whether a changed file is one of the watched playbooks (editor swap files are not)."""
        path = Path(name)
        if path.suffix not in _SUFFIXES or path.name.startswith("."):
            return False
        return path.parent.resolve() in self._whole_dirs or path.resolve() in self._files

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Watch until cancelled (or `stop` is set), reloading after each burst of changes."""
        log.info("watching %s for playbook changes", ", ".join(map(str, self.dirs)))
        try:
            try:
                await self._watch(stop, polling=self.polling)
            except OSError as exc:  # e.g. the inotify watch limit; polling always works
                log.warning("cannot watch the playbooks natively (%s); polling instead", exc)
                await self._watch(stop, polling=True)
        except Exception:  # monitoring goes on with the playbooks it has; say so loudly
            log.exception("stopped watching the playbooks; restart to pick up edits")

    async def _watch(self, stop: asyncio.Event | None, *, polling: bool) -> None:
        async for changes in awatch(
            *self.dirs,
            watch_filter=self.relevant,
            debounce=self.debounce_ms,
            stop_event=stop,
            recursive=False,
            force_polling=polling,
        ):
            names = sorted({Path(name).name for _, name in changes})
            log.info("playbook files changed: %s", ", ".join(names))
            await self.reload()

    async def reload(self) -> bool:
        """Load and check every playbook file; apply each one without an error and keep the
        last good version of each one with an error. True when no file had an error."""
        checked = await asyncio.to_thread(check_playbooks, self.paths)
        good = dict(zip(checked.files, checked.playbooks, strict=True))
        names = {playbook.name for playbook in good.values()}
        kept: list[str] = []
        for file in checked.skipped:
            last = self._good.get(file)
            if last is not None and last.name not in names:  # a new file may have taken it
                good[file] = last
                names.add(last.name)
                kept.append(file)
        if not good:
            problems = [str(p) for p in checked.errors] or [
                f"no playbooks found in {', '.join(self._names)}"
            ]
            log.error(
                "playbook change rejected; still running the last good version. "
                "Fix and save again:\n%s",
                "\n".join(problems),
            )
            self._report(ok=False)
            return False
        for warning in checked.warnings:
            log.warning("%s", warning)
        for file in checked.skipped:
            errors = "\n".join(str(p) for p in checked.errors if p.path == file)
            if file in kept:
                log.error(
                    "playbook change rejected for %s; still running its last good version. "
                    "Fix and save again:\n%s",
                    file,
                    errors,
                )
            else:
                log.error("playbook %s is not watched: fix and save again:\n%s", file, errors)
        self.skipped = tuple(file for file in checked.skipped if file not in kept)
        ok = not checked.skipped
        if ok or good != self._good:  # the other files' edits go live beside a broken one
            outcome = self.apply(list(good.values()))
            self._good = good
            log.info(
                "playbooks reloaded: %s",
                ", ".join(f"{name} {what}" for name, what in sorted(outcome.items())),
            )
        self._report(ok=ok)
        return ok

    def _report(self, *, ok: bool) -> None:
        if self.report is not None:
            self.report(ok)
