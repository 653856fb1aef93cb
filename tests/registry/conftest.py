"""A git working directory with one commit, for the tests of commit tagging."""

import shutil
import subprocess

import pytest


@pytest.fixture
def git_repo(tmp_path):
    """``(folder, git)``: a repository with one commit, and a function that runs git in it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed, so no working directory can be a git repository")
    repo = tmp_path / "project"
    repo.mkdir()

    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (repo / "train.py").write_text("print('train')\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    return repo, git
