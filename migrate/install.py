"""How this copy of tf-migrate was installed, and the pip command that adds an extra to THAT install.

Every message that advises installing something of ours calls `install_extra_command` (the one place that knows
the install kinds), so a user who ran `pip install .` or installed a wheel is never told `pip install -e ...`:

| how it was installed (the distribution's `direct_url.json`, PEP 610)  | advice for the `backends` extra                     |
|------------------------------------------------------------------------|-----------------------------------------------------|
| `pip install -e .` (`dir_info.editable`: true)                         | `pip install -e '.[backends]'` (the checkout's path when it is not the current folder) |
| `pip install .` / `pip install /path/to/checkout` (`dir_info`)         | `pip install '/path/to/checkout[backends]'`         |
| a wheel or sdist file (`archive_info`, a `file://` url)                | `pip install '/path/to/tf_migrate-0.1.0-py3-none-any.whl[backends]'` |
| a wheel or sdist from a URL (`archive_info`)                           | `pip install 'tf-migrate[backends] @ https://...'`  |
| `pip install 'tf-migrate @ git+https://...'` (`vcs_info`)              | `pip install 'tf-migrate[backends] @ git+https://...@COMMIT'` |
| from an index (no `direct_url.json`)                                    | `pip install 'tf-migrate[backends]'`                |
| not installed (a checkout on `PYTHONPATH`)                              | `pip install -e '.[backends]'` in the checkout      |
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from urllib.parse import unquote, urlparse

DIST = "tf-migrate"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the checkout, when run from one


def direct_url() -> dict | None:
    """The installed distribution's `direct_url.json` as a dict; {} when installed from an index; None when
    the distribution is not installed at all."""
    try:
        dist = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        return None
    text = dist.read_text("direct_url.json")
    if not text:
        return {}
    try:
        info = json.loads(text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def is_editable() -> bool:
    """True for `pip install -e` (PEP 660 / PEP 610: `dir_info.editable`)."""
    info = direct_url() or {}
    return bool((info.get("dir_info") or {}).get("editable"))


def _local_path(url: str) -> str | None:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def _shown(path: str) -> str:
    """`.` when `path` is the current folder, else the path itself."""
    try:
        if os.path.samefile(path, os.getcwd()):
            return "."
    except OSError:
        pass
    return path


def install_extra_command(extra: str) -> str:
    """The pip command that adds the optional dependencies `extra` (e.g. "backends") to this install."""
    info = direct_url()
    if info is None:                                   # running from a checkout that was never installed
        return f"pip install -e '{_shown(ROOT)}[{extra}]'"
    url = info.get("url", "")
    if "dir_info" in info:
        where = _local_path(url) or ROOT
        if info["dir_info"].get("editable"):
            return f"pip install -e '{_shown(where)}[{extra}]'"
        return f"pip install '{_shown(where)}[{extra}]'"
    if "archive_info" in info and url:
        local = _local_path(url)
        if local and os.path.isfile(local):
            return f"pip install '{local}[{extra}]'"
        if not local:                                  # a wheel or sdist downloaded from a URL
            return f"pip install '{DIST}[{extra}] @ {url}'"
    if "vcs_info" in info and url:
        vcs = info["vcs_info"]
        ref = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"pip install '{DIST}[{extra}] @ {vcs.get('vcs', 'git')}+{url}{'@' + ref if ref else ''}'"
    return f"pip install '{DIST}[{extra}]'"
