"""A `--find-links` directory of tiny fake wheels built in the test: torch 1.10.0 in the builds download.pytorch.org
serves (plain, +cpu, +cu102, +cu113, +rocm4.2), torchvision 0.11.1 in plain/+cpu/+cu113/+rocm4.2 (its metadata
requires a bare `torch==1.10.0`, as the real wheels do), and the small packages those need. PEP 440 sorts the local
labels as strings, so `+rocm4.2` is the "newest" build of each."""

from __future__ import annotations

import os
from typing import Dict, Iterable, Tuple

from tests.test_index_client import make_wheel

CP37 = "cp37-cp37m-linux_x86_64"
ANY = "py3-none-any"

WHEELS: Tuple[Tuple[str, str, Tuple[str, ...], str], ...] = tuple(
    [("torch", "1.10.0" + label, ("typing-extensions",), CP37) for label in ("", "+cpu", "+cu102", "+cu113",
                                                                             "+rocm4.2")]
    + [("torchvision", "0.11.1" + label, ("torch==1.10.0", "numpy"), CP37) for label in ("", "+cpu", "+cu113",
                                                                                        "+rocm4.2")]
    + [("typing_extensions", "4.7.1", (), ANY), ("numpy", "1.21.6", (), ANY), ("numpy", "2.0.0", (), ANY),
       ("setuptools", "59.5.0", (), ANY), ("setuptools", "65.0.0", (), ANY), ("six", "1.16.0", (), ANY)])


def build_find_links(directory: str, wheels: Iterable[Tuple[str, str, Tuple[str, ...], str]] = WHEELS) -> Dict[
        str, str]:
    """Write the wheels into `directory`; filename -> path."""
    os.makedirs(directory, exist_ok=True)
    written = {}
    for name, version, requires, tag in wheels:
        filename, data, _ = make_wheel(name, version, requires=requires, pad=0, tag=tag)
        path = os.path.join(directory, filename)
        with open(path, "wb") as handle:
            handle.write(data)
        written[filename] = path
    return written
