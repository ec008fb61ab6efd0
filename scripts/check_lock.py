"""Check that the environment running this script has exactly the versions of a lock file.

    python scripts/check_lock.py requirements.lock      # exit 1 and list what differs

scripts/setup.sh runs it after installing, so a warm machine whose environment drifted
(a package installed by hand, a newer transformers) fails loudly instead of testing
something CI never tested.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: str) -> dict[str, str]:
    pins = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def main(path: str) -> int:
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = [f"{name}: locked {version}, installed {installed.get(name, 'nothing')}"
             for name, version in sorted(locked(path).items()) if installed.get(name) != version]
    if wrong:
        print(f"The environment differs from {path}:\n  " + "\n  ".join(wrong) +
              "\nRe-run bash scripts/setup.sh (it installs the lock), or regenerate the lock "
              "with bash scripts/lock.sh if pyproject.toml changed.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock"))
