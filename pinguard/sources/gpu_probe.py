"""Which GPU is here? nvidia-smi's compute capability, when it is installed and answers."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Dict, Optional, Tuple

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


DRIVER_FILES = ("/sys/module/nvidia/version", "/proc/driver/nvidia/version")


def _driver_from_files(files=DRIVER_FILES) -> Tuple[Optional[str], str]:
    import re

    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read(4096)
        except OSError:
            continue
        match = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
        if match:
            return match.group(1), path
    return None, ""


def probe_gpu(timeout: float = 10.0, files=DRIVER_FILES) -> dict:
    """{"seen", "driver", "gpus": [{"name", "compute_capability", "driver"}], "how": [...]}; never raises.

    The driver comes from /sys/module/nvidia/version or /proc/driver/nvidia/version (the order uv uses), the
    GPUs from `nvidia-smi --query-gpu=name,compute_cap,driver_version`.
    """
    info: Dict[str, Any] = {"seen": False, "driver": None, "gpus": [], "how": []}
    driver, where = _driver_from_files(files)
    if driver:
        info["driver"], info["seen"] = driver, True
        info["how"].append("driver %s from %s" % (driver, where))
    else:
        info["how"].append("no NVIDIA driver (%s absent)" % " and ".join(files))
    smi = shutil.which("nvidia-smi")
    if smi is None:
        info["how"].append("nvidia-smi is not installed")
        return info
    try:
        out = subprocess.run([smi, "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        info["how"].append("nvidia-smi failed: %s" % exc)
        return info
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            capability = str(Version(parts[1]))
        except InvalidVersion:
            capability = None
        info["gpus"].append({"name": parts[0], "compute_capability": capability, "driver": parts[2]})
        info["driver"] = info["driver"] or parts[2]
        info["seen"] = True
    info["how"].append("nvidia-smi: %d GPU(s)" % len(info["gpus"]) if info["gpus"] else
                       "nvidia-smi reported no GPU (exit %d)" % out.returncode)
    return info
