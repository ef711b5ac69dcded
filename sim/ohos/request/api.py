"""The ``request`` namespace bound to one simulated device and one calling app."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sim.device.device import Device
from sim.ohos.common import (
    INTERNET,
    AppSandbox,
    AsyncCallback,
    Caller,
    Context,
    Promise,
    deliver,
)
from sim.ohos.request import constants as C
from sim.ohos.request.curl import CurlOptions
from sim.ohos.request.download import DownloadService, create_file, parse_config, place_file
from sim.ohos.request.errors import business_error, given, param_error
from sim.ohos.request.fidelity import DOCUMENTED, RequestFidelity
from sim.ohos.request.upload import UploadService

NO_INTERNET = "Permission denied.An attempt was made to forbidden by permission:INTERNET"
"""The detail of 201 without the INTERNET permission (research §1.2)."""


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

    @property
    def context(self) -> Context:
        """The calling app's BaseContext, for the API 9 entry points."""
        return self.sandbox.context

    def __getattr__(self, name: str) -> int:
        if name.isupper() and hasattr(C, name):
            return int(getattr(C, name))
        raise AttributeError(name)

    def _permission_denied(self, callback: AsyncCallback | None) -> Promise | None:
        promise = Promise(self.device.env).reject(business_error(C.EXCEPTION_PERMISSION))
        return deliver(promise, callback)

    def download(self, *args: Any) -> Promise | None:
        """``download([context,] config[, callback])``: create a download task. Bad
        arguments and file errors are thrown at once (as the platform throws them inside the
        call); the task arrives through the promise/callback."""
        fidelity = self.fidelity
        args = given(args)
        if args and isinstance(args[0], Context):
            args = args[1:]  # the stage-model form: its config follows the context (§2.1)
        if not 1 <= len(args) <= 2:
            raise param_error(fidelity, "need 1 or 2 parameters")
        config, callback = args[0], (args[1] if len(args) > 1 else None)
        if callback is not None and not callable(callback):
            raise param_error(fidelity, "callback is not a function")
        if not self.caller.has(INTERNET):
            if fidelity.permission_denied_silent:
                return None
            return self._permission_denied(callback)
        parsed = parse_config(self, config)
        task = self.downloads.create(parsed, create_file(self, parsed))
        return deliver(Promise(self.device.env).resolve(task), callback)

    def downloadFile(self, *args: Any) -> Promise | None:
        """``downloadFile(context, config[, callback])`` (API 9), checked in the platform's
        order (§3.1): permission (201, thrown), the argument count and each argument (401),
        then the file (13400002, 13400001) — ``filePath`` a device path in the app's folders
        (:func:`~sim.ohos.request.download.place_file`)."""
        if not self.caller.has(INTERNET):
            raise business_error(C.EXCEPTION_PERMISSION, NO_INTERNET)
        args = given(args, mandatory=min(len(args), 2))
        if not 2 <= len(args) <= 3:
            raise business_error(C.EXCEPTION_PARAMCHECK, "native params parameters is error,"
                                 "need 2 or 3 parameters")
        context, config = args[0], args[1]
        callback = args[2] if len(args) > 2 else None
        if not isinstance(context, Context) or context.sandbox is not self.sandbox:
            raise business_error(C.EXCEPTION_PARAMCHECK, "GetContext fail")
        if callback is not None and not callable(callback):
            raise business_error(C.EXCEPTION_PARAMCHECK, "callback is not a function")
        parsed = parse_config(self, config, api9=True)
        task = self.downloads.create(parsed, place_file(self, context, parsed), api9=True)
        return deliver(Promise(self.device.env).resolve(task), callback)

    def upload(self, *args: Any) -> Promise | None:
        """``upload([context,] config[, callback])``: create an upload task (one request per
        file; see :mod:`sim.ohos.request.upload`)."""
        args = given(args)
        if args and isinstance(args[0], Context):
            args = args[1:]
        if not 1 <= len(args) <= 2:
            raise param_error(self.fidelity, "need 1 or 2 parameters")
        return self.uploads.upload(args[0], args[1] if len(args) > 1 else None)

    def uploadFile(self, *args: Any) -> Promise | None:
        """``uploadFile(context, config[, callback])`` (API 9): 401 for fewer than two
        arguments, 13499999 for what is not the app's context, 401 for a bad config and
        13400002 for a file URI (or, as documented, a file) that cannot be had (§4.1)."""
        if not self.caller.has(INTERNET) and not self.fidelity.permission_denied_silent:
            raise business_error(C.EXCEPTION_PERMISSION, NO_INTERNET)
        args = given(args, mandatory=min(len(args), 2))
        if len(args) < 2:
            raise business_error(C.EXCEPTION_PARAMCHECK, "need 2 parameters!")
        if len(args) > 3:
            raise business_error(C.EXCEPTION_PARAMCHECK, "config error!")
        context = args[0]
        if not isinstance(context, Context) or context.sandbox is not self.sandbox:
            raise business_error(C.EXCEPTION_OTHERS, "GetContext fail")
        return self.uploads.upload_file(args[1], args[2] if len(args) > 2 else None)

    @property
    def uploads(self) -> UploadService:
        if self._uploads is None:
            self._uploads = UploadService(self, self._curl_options)
        return self._uploads
