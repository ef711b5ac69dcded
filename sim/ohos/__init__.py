"""Reference implementations of OpenHarmony system APIs, running on a simulated device."""

from sim.ohos.common import (
    CLOUDFILE_SYNC,
    INTERNET,
    AppSandbox,
    AsyncCallback,
    BusinessError,
    Caller,
    Promise,
)

__all__ = ["CLOUDFILE_SYNC", "INTERNET", "AppSandbox", "AsyncCallback", "BusinessError",
           "Caller", "Promise"]
