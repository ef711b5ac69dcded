"""What every OpenHarmony reference shares: Promise, BusinessError, the caller, the sandbox.

ArkTS APIs come in pairs — ``f(args): Promise<T>`` and ``f(args, callback: AsyncCallback<T>)``.
Here a :class:`Promise` is a SimPy event, so it settles in simulated time: a process waits with
``value = yield promise``, code outside SimPy with ``device.run(promise)``, and the callback form
is :func:`deliver` attaching the callback to the same event. Like JavaScript's microtasks, a
promise resolved inside a call is observed only once the environment steps.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import simpy

from sim.errors import UnsafePath
from sim.fs import Folder, parts

T = TypeVar("T")

INTERNET = "ohos.permission.INTERNET"
CLOUDFILE_SYNC = "ohos.permission.CLOUDFILE_SYNC"

NOT_A_NAME = "not one folder name"
"""Why a bundle name that would make a sandbox of several folders (or none) is refused."""
AsyncCallback = Callable[["BusinessError | None", Any], None]
APP_LOG = logging.getLogger("syncrig.app")
"""Where an app's callback that raised is reported."""


class BusinessError(Exception):
    """An error as ArkTS reports it: ``code`` and ``message`` (and optional ``data``)."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return f"BusinessError {self.code}: {self.message}"


class Promise(simpy.Event):
    """A SimPy event with JavaScript promise vocabulary.

    A rejection nobody waits for does not stop the simulation (the event is defused), just as an
    unobserved rejected promise does not stop an app.
    """

    def resolve(self, value: object = None) -> Promise:
        self.succeed(value)
        return self

    def reject(self, error: Exception) -> Promise:
        self.fail(error)
        self.defused = True
        return self

    @property
    def settled(self) -> bool:
        return self.triggered

    def result(self) -> Any:
        """The value, or raise the rejection; RuntimeError while still pending."""
        if not self.triggered:
            raise RuntimeError("promise is still pending")
        value = self.value
        if not self.ok:
            assert isinstance(value, Exception)
            raise value
        return value


def deliver(promise: Promise, callback: AsyncCallback | None) -> Promise | None:
    """The Promise/AsyncCallback pair: return the promise, or route it to ``callback(err, data)``
    (``err`` is ``None`` on success) and return ``None``."""
    if callback is None:
        return promise

    def settle(event: simpy.Event) -> None:
        # the app's callback: what it raises is the app's fault, logged, and the service's
        # event loop goes on (a throwing JS callback does not stop the platform's service)
        try:
            if event.ok:
                callback(None, event.value)
            else:
                callback(event.value, None)
        except Exception:
            APP_LOG.exception("an app's AsyncCallback raised")

    callbacks = promise.callbacks
    if callbacks is None:  # already processed
        settle(promise)
    else:
        callbacks.append(settle)
    return None


@dataclass(frozen=True)
class Caller:
    """Who calls an API: the checks for 201 (permission) and 202 (system app) depend on it."""

    bundle_name: str = "com.example.app"
    system_app: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    @classmethod
    def with_permissions(cls, *permissions: str, bundle_name: str = "com.example.app",
                         system_app: bool = False) -> Caller:
        return cls(bundle_name, system_app, frozenset(permissions))


class AppSandbox:
    """An app's private directories on the simulated device, as real folders under ``root``.

    ``internal://cache/<rel>`` URIs resolve into :attr:`cache_dir`; anything that would leave it
    (``..``, a symlink pointing out, another scheme) does not resolve, and nothing outside is
    read or written.
    """

    CLOUD_PATH = "/data/storage/el2/cloud"
    """The device path the app's cloud folder stands for."""

    def __init__(self, root: Path, bundle_name: str = "com.example.app", *,
                 home: Folder | None = None) -> None:
        """``root`` is a trusted path, made if missing; or, with ``home``, the folder there
        already held by its owner, and the sandbox's folders are made through it."""
        self.root = Path(root).resolve() if home is None else Path(root)
        self.bundle_name = bundle_name
        self.cache_dir = self.root / "cache"
        self.files_dir = self.root / "files"
        self.cloud_dir = self.root / "cloud"
        if home is None:
            for folder in (self.cache_dir, self.files_dir, self.cloud_dir):
                folder.mkdir(parents=True, exist_ok=True)
            home = Folder.hold(self.root, follow=False)
        # held now, as they are made: a folder swapped for a symlink before the app's first
        # transfer is not followed either (see :mod:`sim.fs`)
        self.home = home
        """The sandbox's own folder, held: folders a service keeps in the sandbox are made
        and reached from it, following no link."""
        self.cache = home.folder("cache", create=True)
        """The cache folder, held: the references' file operations there go through it."""
        self.cloud = home.folder("cloud", create=True)
        """The cloud folder, held (as :attr:`cache`)."""
        self.files = home.folder("files", create=True)
        """The files folder, held (as :attr:`cache`): an API 9 download may be written there."""
        self.context = Context(self)
        """The app's BaseContext, as its API 9 calls pass it."""

    @classmethod
    def made_in(cls, parent: Folder, bundle_name: str) -> AppSandbox:
        """The sandbox named ``bundle_name`` in the held folder ``parent``, made and held
        without following a link: a name planted there is refused, never followed (and a
        name that is not one folder's is :class:`~sim.errors.UnsafePath`)."""
        if parts(bundle_name) != (bundle_name,):
            raise UnsafePath(bundle_name, NOT_A_NAME)
        home = parent.folder(bundle_name, create=True)
        return cls(parent.path / bundle_name, bundle_name, home=home)

    def cloud_uri(self, relative: str) -> str:
        """The ``file://`` URI the platform builds for a file in the cloud folder."""
        return f"file://{self.bundle_name}{self.CLOUD_PATH}/{relative}"

    def resolve_cloud_uri(self, uri: object) -> Path | None:
        """The file a cloud-folder URI names, or None when it is not one (another scheme or
        app, a path outside the cloud folder, ``..`` or a symlink leading out)."""
        prefix = f"file://{self.bundle_name}{self.CLOUD_PATH}/"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            return None
        return self.inside(self.cloud_dir, uri[len(prefix):])

    def inside(self, folder: Path, relative: str) -> Path | None:
        """``folder/relative`` with symlinks resolved, or None if it leaves ``folder``."""
        if not relative or relative.startswith("/") or "\x00" in relative:
            return None
        candidate = Path(os.path.realpath(folder / relative))
        return candidate if candidate.is_relative_to(folder) and candidate != folder else None

    def resolve_internal(self, uri: str) -> Path | None:
        """The file an ``internal://cache/...`` URI names, or None when it is not one."""
        prefix = "internal://cache/"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            return None
        return self.inside(self.cache_dir, uri[len(prefix):])


@dataclass(frozen=True, eq=False)
class Context:
    """An app's BaseContext as the API 9 entry points take it (``downloadFile(context, …)``):
    the device paths of its cache and files folders, which stand for :attr:`sandbox`'s."""

    sandbox: AppSandbox
    cacheDir: str = "/data/storage/el2/base/haps/entry/cache"
    filesDir: str = "/data/storage/el2/base/haps/entry/files"
