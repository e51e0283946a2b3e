"""Packages of the distribution; everything else is in pyproject.toml.

The templates stay in the repository's top-level ``templates/`` folder (where template authors
work) and are shipped as package data of ``keukentafel.templates`` (its folders listed as
packages too, so setuptools knows they are meant), so an installed Keukentafel finds them
through importlib.resources (keukentafel.letters.render.shipped_templates). The sample
configuration in ``config/`` (the demo's corporation file, mailing content, export samples) ships
the same way as ``keukentafel.sample_config``, so ``keukentafel demo`` runs from an installed
package too (keukentafel.demo.sample_config).
"""

from setuptools import find_namespace_packages, setup

TEMPLATES = ["keukentafel.templates"] + [
    f"keukentafel.templates.{name}" for name in find_namespace_packages(where="templates")
]
SAMPLE_CONFIG = ["keukentafel.sample_config"] + [
    f"keukentafel.sample_config.{name}" for name in find_namespace_packages(where="config")
]

setup(
    packages=[
        *find_namespace_packages(include=["keukentafel*", "connectors*", "flows*"]),
        *TEMPLATES,
        *SAMPLE_CONFIG,
    ],
    package_dir={"keukentafel.templates": "templates", "keukentafel.sample_config": "config"},
)
