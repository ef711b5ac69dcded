"""``@ohos.request`` values the reference uses: the spec table's constants and messages
(:mod:`sim.spec.ohos_request`, where they are written once) and the service's limits."""

from __future__ import annotations

from sim.spec.ohos_request import *  # noqa: F403

MAX_RUNNING_DOWNLOADS = 4
"""Worker threads of the download service (``THREAD_POOL_NUM``, research §1.3)."""

MAX_ATTEMPTS = 3
"""Attempts on connect/DNS/timeout errors before PAUSED_WAITING_TO_RETRY (``MAX_RETRY_TIMES``)."""

