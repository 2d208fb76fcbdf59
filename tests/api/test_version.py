"""One version number: pyproject.toml's, in the API schema and at the top of CHANGELOG.md's releases."""

import re
import tomllib

from django.conf import settings

from tests.support import ROOT


def test_the_api_schema_carries_the_projects_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert settings.SPECTACULAR_SETTINGS["VERSION"] == version


def test_the_changelog_has_a_dated_entry_for_the_projects_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(r"^## (\S+) — (\d{4}-\d{2}-\d{2})$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert version in dict(releases)
