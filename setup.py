"""Package discovery only: maps the top-level `backends/` folder to `graphc.backends`."""
from setuptools import find_packages, setup

packages = ["graphc"] + [f"graphc.{p}" for p in find_packages("graphc")]
packages += ["graphc.backends"] + [f"graphc.backends.{p}" for p in find_packages("backends")]
package_dir = {"graphc": "graphc", "graphc.backends": "backends"}

setup(packages=packages, package_dir=package_dir,
      package_data={"graphc": ["py.typed"], "graphc.backends": ["**/*.h", "**/*.c"]})
