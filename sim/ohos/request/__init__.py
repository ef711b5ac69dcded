"""Reference ``@ohos.request`` (API 6-9) on a simulated device.

``request = RequestModule(device)`` gives the namespace an app imports: the constants with the
platform's values, ``download``/``upload`` and the API 9 ``downloadFile``/``uploadFile`` in
Promise and AsyncCallback forms, each taking its arguments as a JavaScript call passes them.
Transfers are real HTTP through libcurl, paced by the device's simulated link.
"""

from sim.ohos.request.api import RequestModule
from sim.ohos.request.constants import *  # noqa: F403
from sim.ohos.request.curl import CurlOptions
from sim.ohos.request.download import DownloadInfo, DownloadTask
from sim.ohos.request.errors import JsError
from sim.ohos.request.fidelity import (
    DOCUMENTED,
    OHOS_3_2,
    OHOS_HEAD,
    PROFILES,
    RequestFidelity,
    profile,
)

__all__ = [
    "DOCUMENTED",
    "OHOS_3_2",
    "OHOS_HEAD",
    "PROFILES",
    "CurlOptions",
    "DownloadInfo",
    "DownloadTask",
    "JsError",
    "RequestFidelity",
    "RequestModule",
    "profile",
]
