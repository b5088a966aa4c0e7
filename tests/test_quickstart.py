"""README's Quickstart is two commands, and CI (.ci/run) runs exactly those in a fresh virtual environment."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list[str]:
    """The lines of the bash block under README's "## Quickstart" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quickstart\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README.md has no '## Quickstart' section"
    block = re.search(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, "README's Quickstart has no ```bash block"
    return block.group(1).splitlines()


def test_readme_quickstart_is_two_commands():
    commands = quickstart_commands()
    assert len(commands) == 2 and all(c.strip() for c in commands), commands
    assert "graphc demo" in commands[0] and "pytest" in commands[1]


def test_ci_runs_the_readme_quickstart():
    printed = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--quickstart"], capture_output=True, text=True,
                             check=True, timeout=60).stdout.splitlines()
    assert printed == quickstart_commands()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'for i in 0 1; do' in script and 'bash -euo pipefail -c "${QUICKSTART[$i]}"' in script
    assert 'python3 -m venv "$VENV"' in script and "--system-site-packages" not in script
