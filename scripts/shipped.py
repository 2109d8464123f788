"""Where the bench and comparison scripts find our binary by default."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped_binary():
    """What `scripts/build-release` made (target/dist/codex), else cargo's release binary."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    dist = os.path.join(target, "dist", "codex")
    return dist if os.path.exists(dist) else os.path.join(target, "release", "codex")
