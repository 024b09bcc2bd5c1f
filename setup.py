"""Build hook: ship the Hydra configs inside the package (sim/configs) so a normal install runs.

The configs live in configs/ at the project's root (where a reader looks for them); a built
wheel carries a copy as sim/configs, which sim.paths.config_dir() finds when no checkout is
around. Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithConfigs(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "sim" / "configs"
        shutil.copytree(Path(__file__).parent / "configs", target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithConfigs})
