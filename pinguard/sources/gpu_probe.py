"""Which GPU is here? nvidia-smi's compute capability, when it is installed and answers."""

from __future__ import annotations

import shutil
import subprocess
from typing import Optional, Tuple

from packaging.version import InvalidVersion, Version


def probe_compute_capability(timeout: float = 10.0) -> Tuple[Optional[Version], str]:
    """(compute capability of the first GPU, how it was found or why not); never raises."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None, "nvidia-smi is not installed"
    try:
        out = subprocess.run([smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "nvidia-smi failed: %s" % exc
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2:
            try:
                return Version(parts[1]), "nvidia-smi: %s" % parts[0]
            except InvalidVersion:
                continue
    return None, "nvidia-smi reported no GPU"
