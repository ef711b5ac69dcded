"""An emulated Synology NAS serving ``SYNO.CloudSync`` to the unmodified ``synology-api`` client."""

from sim.synology.seed import NasSeed, load_seed
from sim.synology.state import Nas
from sim.synology.web import NasServer

__all__ = ["Nas", "NasSeed", "NasServer", "load_seed"]
