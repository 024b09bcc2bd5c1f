"""Promise-effects simulator: an agent-based model of Swedish medborgarlöften (citizen promises).

Quick use from Python::

    import sim
    cfg = sim.load_config(["scenario=full_implementation", "replications=5"])
    result = sim.run(cfg)
    result.summary
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("promise-sim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

from .api import RunResult, run, run_replication  # noqa: E402
from .config import load_config, to_config  # noqa: E402
from .model import PromiseModel  # noqa: E402
from .params import Config, ConfigError  # noqa: E402
from .planner import whatif  # noqa: E402

__all__ = [
    "Config",
    "ConfigError",
    "PromiseModel",
    "RunResult",
    "load_config",
    "run",
    "run_replication",
    "to_config",
    "whatif",
    "__version__",
]
