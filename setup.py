"""Packages of the distribution; everything else is in pyproject.toml.

The templates stay in the repository's top-level ``templates/`` folder (where template authors
work) and are shipped as package data of ``keukentafel.templates`` (its folders listed as
packages too, so setuptools knows they are meant), so an installed Keukentafel finds them
through importlib.resources (keukentafel.letters.render.shipped_templates).
"""

from setuptools import find_namespace_packages, setup

TEMPLATES = ["keukentafel.templates"] + [
    f"keukentafel.templates.{name}" for name in find_namespace_packages(where="templates")
]

setup(
    packages=[
        *find_namespace_packages(include=["keukentafel*", "connectors*", "flows*"]),
        *TEMPLATES,
    ],
    package_dir={"keukentafel.templates": "templates"},
)
