"""(placeholder until its issue lands) collects no guards."""

from __future__ import annotations


def collect(manifest, settings):  # type: ignore[no-untyped-def]
    return ()
