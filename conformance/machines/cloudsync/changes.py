"""The registerChange rules: subscribing to a folder (or being refused), and hearing of each
change to a file in it with the NotifyType for what happened and the file's URI."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from conformance.machines.base import ConformanceFailure
from conformance.machines.cloudsync.model import CloudSyncModel
from sim.spec import ohos_cloudsync as spec


class ChangeRules(CloudSyncModel):
    """registerChange and unregisterChange, and the callback they set up."""

    @rule(kind=st.sampled_from(["folder", "missing", "invalid"]), unregister=st.booleans())
    def change_subscription(self, kind: str, unregister: bool) -> None:
        module = self.target.modules["system"]
        module.files.mkdir("watched")
        uri = {"folder": module.files.uri("watched"), "missing": module.files.uri("nowhere"),
               "invalid": "file://x.y/data/storage/el2/cloud/a"}[kind]
        code = self.change_code({"folder": 0, "missing": spec.NO_SUCH_FILE,
                                 "invalid": spec.INVALID_URI}[kind])
        if unregister:
            self.expect("cloudSync.unregisterChange", code, lambda: module.unregisterChange(uri))
        else:
            callback = self._watch
            if code == 0:
                module.unregisterChange(uri)  # the same callback twice on one uri is 401
            self.expect("cloudSync.registerChange", code,
                        lambda: module.registerChange(uri, True, callback))

    def _watch(self, change: Any) -> None:
        self.changes.append(change)

    @rule(op=st.sampled_from(["add", "modify", "delete", "rename"]), data=st.binary(max_size=50))
    def watched_file(self, op: str, data: bytes) -> None:
        """Change a file in a folder watched with registerChange: the callback hears of it,
        with the NotifyType for what happened and the file's URI."""
        module = self.target.modules["system"]
        files = module.files
        files.mkdir("watched")
        module.unregisterChange(files.uri("watched"))
        module.registerChange(files.uri("watched"), True, self._watch)
        here = files.list("watched")
        mark = len(self.changes)
        if op == "add" or not here:
            name = f"w{len(here)}.txt"
            while name in here:
                name = "n" + name
            kind = spec.NotifyType.NOTIFY_ADDED
            files.write(f"watched/{name}", data)
            uris = [files.uri(f"watched/{name}")]
        elif op == "modify":
            kind = spec.NotifyType.NOTIFY_MODIFIED
            files.write(f"watched/{here[0]}", data)
            uris = [files.uri(f"watched/{here[0]}")]
        elif op == "delete":
            kind = spec.NotifyType.NOTIFY_DELETED
            files.delete(f"watched/{here[0]}")
            uris = [files.uri(f"watched/{here[0]}")]
        else:
            kind, new = spec.NotifyType.NOTIFY_RENAMED, f"r{len(here)}-{here[0]}"
            files.rename(f"watched/{here[0]}", f"watched/{new}")
            uris = [files.uri(f"watched/{here[0]}"), files.uri(f"watched/{new}")]
        heard = [(spec.NotifyType(c.type), sorted(c.uris)) for c in self.changes[mark:]]
        if heard != [(kind, sorted(uris))]:
            raise ConformanceFailure("registerChange callback", f"{spec.DOCUMENT} ## "
                                     "cloudSync.registerChange, ## ChangeData",
                                     [(kind, sorted(uris))], heard)
        self.coverage.value("NotifyType", kind.name)
