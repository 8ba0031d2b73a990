"""`--gpu sm_XY | X.Y | auto | none` (fix, lock): a compute capability, and what was assumed, in words."""

from __future__ import annotations

from typing import Optional, Tuple

from packaging.version import Version

from pinguard.errors import BadInput
from pinguard.kb_types import DefaultGpu


def gpu_option(text: Optional[str], default: Optional[DefaultGpu] = None) -> Tuple[Optional[Version], str]:
    """(compute capability or None, what was assumed) for --gpu sm_XY | X.Y | auto | none; without --gpu, the
    knowledge base's default GPU (gpu.toml [default_gpu], the `default` given), else none."""
    if text is None:
        if default is None:
            return None, "no --gpu given and no default GPU in the knowledge base: GPU-specific rules do not apply"
        return default.sm, ("no --gpu given: assuming an NVIDIA %s GPU (sm_%s, e.g. %s, %s); pass --gpu sm_XY or "
                            "--gpu auto to change it" % (default.name, str(default.sm).replace(".", ""),
                                                         default.example, default.why))
    value = text.strip().lower()
    if len(value) > 20 or not value.isascii():
        raise BadInput("--gpu takes sm_XY (e.g. sm_75, sm_86), X.Y, auto or none, not %r" % text[:20])
    if value in ("none", "cpu"):
        return None, "no GPU (--gpu %s): GPU-specific rules do not apply" % text
    if value == "auto":
        from pinguard.sources.gpu_probe import probe_compute_capability

        found, how = probe_compute_capability()
        if found is None:
            return None, "--gpu auto: no GPU seen (%s); GPU-specific rules do not apply" % how
        return found, "--gpu auto: compute capability %s (%s)" % (found, how)
    digits = value[3:] if value.startswith("sm_") else value.replace(".", "")
    if not digits.isdigit() or len(digits) < 2:
        raise BadInput("--gpu takes sm_XY (e.g. sm_75, sm_86), X.Y, auto or none, not %r" % text)
    return Version("%s.%s" % (digits[:-1], digits[-1])), "--gpu: compute capability %s.%s" % (digits[:-1], digits[-1])
