"""The Download and CloudFileCache rules: a download's documented refusals and outcomes,
cleaning the cache of a synced file and refusing a local-only one, and what a download's
progress events must always be."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.machines.base import ConformanceFailure
from conformance.machines.cloudsync.model import CloudSyncModel
from conformance.machines.cloudsync.outcomes import DOWNLOAD_OUTCOMES
from conformance.targets.reference import BUNDLE
from sim.spec import ohos_cloudsync as spec


class FetchRules(CloudSyncModel):
    """On-demand downloads from the cloud, and the local cache of cloud files."""

    @rule(kind=st.sampled_from(["in-cloud", "not-in-cloud", "too-big", "exact-fit", "foreign"]),
          stop=st.booleans())
    def download(self, kind: str, stop: bool) -> None:
        """Download.start's documented refusals: no such file in the cloud (or a URI that is
        not the app's), 13900002; more than the free space, 13900025 — exactly the free space
        fits."""
        module = self.target.modules["system"]
        rel = {"in-cloud": "dl/a.bin", "not-in-cloud": "dl/none.bin", "too-big": "dl/big.bin",
               "exact-fit": "dl/fit.bin", "foreign": "dl/a.bin"}
        if kind in ("in-cloud", "foreign") and \
                self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, rel[kind], b"x" * 1000)
        if kind == "too-big" and self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.plant_object(BUNDLE, rel[kind], 10**14)
        if kind == "exact-fit":
            self.target.plant_object(BUNDLE, rel[kind], self.device.storage.free)
        uri = module.files.uri(rel[kind]) if kind != "foreign" else \
            f"file://other.app/data/storage/el2/cloud/{rel[kind]}"
        download = module.Download()
        download.on("progress", self.downloads.append)
        if stop:
            self.expect("Download.stop", 0, lambda: download.stop(uri))
            return
        code = {"in-cloud": 0, "not-in-cloud": spec.NO_SUCH_FILE, "too-big": spec.NO_SPACE,
                "exact-fit": 0, "foreign": spec.NO_SUCH_FILE}[kind]
        self.expect("Download.start", code, lambda: download.start(uri))
        if kind == "exact-fit":  # its bytes are never meant to arrive
            self.expect("Download.stop", 0, lambda: download.stop(uri))

    @rule(kind=st.sampled_from(["synced", "local-only", "invalid"]))
    def clean_cache(self, kind: str) -> None:
        module = self.target.modules["system"]
        if kind == "synced" and self.target.drive.container(BUNDLE).get("cc/s.bin") is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, "cc/s.bin", b"cached")
            module.files.write("cc/s.bin", b"cached")
        # a new name each time: a sync started earlier may have uploaded an older one
        self.local_files += 1
        local = f"cc/local-{self.local_files}.bin"
        if kind == "local-only":
            module.files.write(local, b"only here")
        uri = {"synced": module.files.uri("cc/s.bin"), "local-only": module.files.uri(local),
               "invalid": "file://x.y/data/storage/el2/a"}[kind]
        code = {"synced": 0, "local-only": spec.NO_SUCH_FILE, "invalid": spec.INVALID_URI}[kind]
        if self.fidelity.clean_cache_ignores_engine:
            code = 0  # the service drops the engine's answer (research §2.1)
        self.expect("CloudFileCache.cleanCache", code,
                    lambda: module.CloudFileCache().cleanCache(uri))
        if kind == "local-only" and module.files.read(local) != b"only here":
            raise ConformanceFailure("a refused cleanCache loses nothing",
                                     f"{spec.DOCUMENT} ## CloudFileCache ### cleanCache",
                                     b"only here", module.files.read(local))

    @rule(kind=st.sampled_from(["in-cloud", "not-in-cloud", "foreign"]), registered=st.booleans())
    def file_cache(self, kind: str, registered: bool) -> None:
        """CloudFileCache.start and stop as the d.ts gives them: 13900002 for a file the
        cloud does not have, 14000002 for a URI that is not the app's — each 13600001 where
        the profile's NAPI rewrites the service's failures — and stop, which needs an
        instance that listened or started where the profile's NAPI says so (research §2.1)."""
        module = self.target.modules["system"]
        if self.target.drive.container(BUNDLE).get("dl/a.bin") is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, "dl/a.bin", b"x" * 1000)
        uri = {"in-cloud": module.files.uri("dl/a.bin"),
               "not-in-cloud": module.files.uri("dl/none.bin"),
               "foreign": "file://other.app/data/storage/el2/cloud/dl/a.bin"}[kind]
        cache = module.CloudFileCache()
        if registered:
            cache.on("progress", self.downloads.append)
        code = {"in-cloud": 0, "not-in-cloud": spec.NO_SUCH_FILE,
                "foreign": spec.INVALID_URI}[kind]
        if code and self.fidelity.cache_start_as_ipc:
            code = spec.IPC_ERROR
        stop = spec.INVALID_PARAMETER if self.fidelity.cache_stop_needs_callback \
            and not registered else 0
        self.expect("CloudFileCache.stop", stop, lambda: cache.stop(uri))
        self.expect("CloudFileCache.start", code, lambda: cache.start(uri))
        self.expect("CloudFileCache.stop", 0, lambda: cache.stop(uri, False))

    @precondition(lambda self: self.target.has_controls)
    @rule(order=st.permutations(sorted(DOWNLOAD_OUTCOMES)))
    def download_outcomes(self, order: list[str]) -> None:
        """Every documented download outcome, in a drawn order."""
        for case in order:
            self.download_outcome(case)

    def download_outcome(self, case: str) -> None:
        """An on-demand download under one condition: its last DownloadProgress must carry
        the documented State and DownloadErrorType."""
        module = self.target.modules["system"]
        self.clear_conditions()
        self.outs += 1
        rel = f"dl/o{self.outs}.bin"
        self.target.cloud.seed(self.target.drive, BUNDLE, rel, b"d" * 4_000_000)
        uri = module.files.uri(rel)
        download = module.Download()
        download.on("progress", self.downloads.append)
        mark = len(self.downloads)
        if case == "offline":  # it fails before it runs: no RUNNING (research §3.7)
            self.set_radios(False)
        self.expect("Download.start", 0, lambda: download.start(uri))
        if case == "stopped":
            self.device.run(until=self.device.env.now + 0.05)
            self.expect("Download.stop", 0, lambda: download.stop(uri))
        elif case == "vanished":
            self.device.run(until=self.device.env.now + 0.05)
            self.target.drive.container(BUNDLE).delete(rel)
        elif case == "radio-lost":
            self.device.run(until=self.device.env.now + 0.05)
            self.set_radios(False)
        self.device.run(until=self.device.env.now + 30.0)
        events = [d for d in self.downloads[mark:] if d.uri == uri]
        final = (spec.State(events[-1].state), spec.DownloadErrorType(events[-1].error)) \
            if events else None
        if final != DOWNLOAD_OUTCOMES[case]:
            raise ConformanceFailure(f"download outcome ({case})", f"{spec.DOCUMENT} ## "
                                     "Download, ## State, ## DownloadErrorType",
                                     DOWNLOAD_OUTCOMES[case], final)
        self.clear_conditions()

    @invariant()
    def downloads_are_well_formed(self) -> None:
        """DownloadProgress: an error exactly on FAILED, COMPLETED after every byte, nothing
        after a final state of the same file's download."""
        ended: set[str] = set()
        last: dict[str, str] = {}
        for dp in self.downloads:
            state, error = spec.State(dp.state), spec.DownloadErrorType(dp.error)
            if (state == spec.State.FAILED) != (error != spec.DownloadErrorType.NO_ERROR):
                raise ConformanceFailure("DownloadProgress", f"{spec.DOCUMENT} ## "
                                         "DownloadErrorType", "an error exactly on FAILED",
                                         (state.name, error.name))
            if state == spec.State.COMPLETED and dp.processed != dp.size:
                raise ConformanceFailure("DownloadProgress COMPLETED", f"{spec.DOCUMENT} ## "
                                         "DownloadProgress", dp.size, dp.processed)
            if dp.uri in ended and state == spec.State.RUNNING:
                ended.discard(dp.uri)  # a new download of the same file
            self.coverage.value("State", state.name)
            self.coverage.value("DownloadErrorType", error.name)
            previous = last.get(dp.uri, "start")
            if state.name != previous:
                self.documented_transition("DownloadProgress", previous, state.name)
            last[dp.uri] = state.name
            if state != spec.State.RUNNING:
                ended.add(dp.uri)
                last[dp.uri] = "start"
