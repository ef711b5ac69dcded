"""The ``request`` namespace bound to one simulated device and one calling app."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sim.device.device import Device
from sim.ohos.common import INTERNET, AppSandbox, AsyncCallback, Caller, Promise, deliver
from sim.ohos.request import constants as C
from sim.ohos.request.curl import CurlOptions
from sim.ohos.request.download import DownloadService, create_file, parse_config
from sim.ohos.request.errors import business_error, param_error
from sim.ohos.request.fidelity import DOCUMENTED, RequestFidelity
from sim.ohos.request.upload import UploadService


class RequestModule:
    """What an app gets from ``import request from '@ohos.request'`` on this device.

    Every documented constant is an attribute (``module.ERROR_OFFLINE == 9``), and
    :meth:`download` / :meth:`upload` come in the Promise and AsyncCallback forms.
    """

    def __init__(self, device: Device, *, caller: Caller | None = None,
                 sandbox: AppSandbox | None = None,
                 fidelity: RequestFidelity = DOCUMENTED,
                 curl_options: CurlOptions | None = None) -> None:
        self.device = device
        self.caller = caller if caller is not None else Caller.with_permissions(INTERNET)
        self.sandbox = sandbox if sandbox is not None else AppSandbox(
            Path(tempfile.mkdtemp(prefix="syncrig-app-")), self.caller.bundle_name)
        self.fidelity = fidelity
        self.downloads = DownloadService(self, curl_options)
        self._uploads: UploadService | None = None
        self._curl_options = curl_options

    def __getattr__(self, name: str) -> int:
        if name.isupper() and hasattr(C, name):
            return int(getattr(C, name))
        raise AttributeError(name)

    def _permission_denied(self, callback: AsyncCallback | None) -> Promise | None:
        promise = Promise(self.device.env).reject(business_error(C.EXCEPTION_PERMISSION))
        return deliver(promise, callback)

    def download(self, config: object, callback: AsyncCallback | None = None) -> Promise | None:
        """Create a download task. Bad arguments and file errors are thrown at once (as the
        platform throws them inside the call); the task arrives through the promise/callback."""
        if callback is not None and not callable(callback):
            raise param_error(self.fidelity, "callback is not a function")
        if not self.caller.has(INTERNET):
            if self.fidelity.permission_denied_silent:
                return None
            return self._permission_denied(callback)
        parsed = parse_config(self, config)
        fd, relative, uri = create_file(self, parsed)
        task = self.downloads.create(parsed, fd, relative, uri)
        return deliver(Promise(self.device.env).resolve(task), callback)

    def upload(self, config: object, callback: AsyncCallback | None = None) -> Promise | None:
        """Create an upload task (one request per file; see :mod:`sim.ohos.request.upload`)."""
        if self._uploads is None:
            self._uploads = UploadService(self, self._curl_options)
        return self._uploads.upload(config, callback)
