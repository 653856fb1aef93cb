import subprocess

from driftwarden.registry.artifacts import git_commit


def test_git_commit_reads_the_checked_out_commit(tmp_path):
    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=tmp_path, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (tmp_path / "f.txt").write_text("x")
    git("add", "f.txt")
    git("commit", "-q", "-m", "first")
    assert git_commit(tmp_path) == git("rev-parse", "HEAD")


def test_git_commit_outside_a_work_tree_is_none(tmp_path):
    assert git_commit(tmp_path) is None


def test_git_commit_without_git_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_commit(tmp_path) is None
