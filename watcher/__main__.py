"""`python -m watcher`: the same entry point as the `groundswell` command."""

from __future__ import annotations

from watcher.cli import main

raise SystemExit(main())
