import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)
sys.path.insert(0, PYTHON_DIR)


def node_toolkit():
    """The built TypeScript toolkit (npm run build): node and dist/, or a reason to skip."""
    node = shutil.which("node")
    if node is None:
        return None, "node is not installed"
    if not os.path.exists(os.path.join(REPO, "dist", "src", "models", "io.js")):
        return None, "the TypeScript toolkit is not built (run npm run build)"
    return node, None


@pytest.fixture(scope="session")
def node():
    path, why = node_toolkit()
    if path is None:
        pytest.skip(why)
    return path


def run_cli(node, *args, timeout=300):
    """Runs `rwkv-music ...` (bin/rwkv-music.js) and returns its stdout."""
    r = subprocess.run([node, os.path.join(REPO, "bin", "rwkv-music.js"), *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout
