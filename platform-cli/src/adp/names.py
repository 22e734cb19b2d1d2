"""The rules for the names the platform gives things: packages, environments, runtime image types.

Invariant: each rule is written here once, and every check of such a name in ``adp`` uses it
(``adp.releases.names`` for the store's keys, ``adp.validation.options``, ``adp.generate.spec``,
``adp.images``). Two copies stay outside, each kept equal to this module by a test
(platform-cli/tests/primitives/test_names.py):

- ``copier.yml`` (the datakit template's questions, Jinja: it cannot import Python) writes the
  character rules of ``package_name`` and ``datakit_name``, with a shorter length limit (40)
  of its own, so that every name the template gives is one the platform accepts;
- ``adp.bundles.policy`` (loaded by Airflow in every process, it imports only Airflow and the
  standard library) copies ``PACKAGE_RE``.

Pure data and pure functions, standard library only, no I/O: a primitive below every library.
"""

from __future__ import annotations

import re

# A package: the Python package of a datakit (dags/<package>/), the prefix of its DAG ids
# (<package>_*) and its folder in the release store (<env>/<package>/).
PACKAGE_PATTERN = r"[a-z][a-z0-9_]*"  # copier.yml's package_name, character for character
PACKAGE_MAX = 64
PACKAGE_RE = re.compile(rf"^[a-z][a-z0-9_]{{0,{PACKAGE_MAX - 1}}}$")
PACKAGE_RULE = (
    f"1-{PACKAGE_MAX} lowercase letters, digits and '_', starting with a letter "
    "(for example customer_360)"
)

# An environment: a folder of the release store (<env>/), a bundle's and a sync agent's scope.
ENV_MAX = 32
ENV_RE = re.compile(rf"^[a-z][a-z0-9-]{{0,{ENV_MAX - 1}}}$")
ENV_RULE = (
    f"1-{ENV_MAX} lowercase letters, digits and '-', starting with a letter (for example dev, prod)"
)

# A runtime image type (runtime-environments/<type>/, the image <repo>/<type>) and a datakit's
# name (copier.yml's datakit_name): lowercase words joined by single dashes.
TYPE_NAME_PATTERN = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
TYPE_NAME_RE = re.compile(rf"^{TYPE_NAME_PATTERN}$")
