"""The output formats of each command, written once: the parser offers them, the renderers implement them."""

GENERATE = ("pip", "uv", "conda", "json")
FIX = ("pins", "explain", "json")
LOCK = ("pylock", "requirements", "conda")  # `lock --format` (JSON is --json: a report, not a lock)
