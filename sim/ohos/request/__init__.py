"""Reference ``@ohos.request`` (API 6-9 upload/download) on a simulated device.

``request = RequestModule(device)`` gives the namespace an app imports: the constants with the
platform's values, and ``download``/``upload`` in Promise and AsyncCallback forms. Transfers are
real HTTP through libcurl, paced by the device's simulated link.
"""

from sim.ohos.request.api import RequestModule
from sim.ohos.request.constants import *  # noqa: F403
from sim.ohos.request.curl import CurlOptions
from sim.ohos.request.download import DownloadInfo, DownloadTask
from sim.ohos.request.errors import JsError
from sim.ohos.request.fidelity import DOCUMENTED, OHOS_3_2, PROFILES, RequestFidelity, profile

__all__ = [
    "DOCUMENTED",
    "OHOS_3_2",
    "PROFILES",
    "CurlOptions",
    "DownloadInfo",
    "DownloadTask",
    "JsError",
    "RequestFidelity",
    "RequestModule",
    "profile",
]
