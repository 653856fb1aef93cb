from driftwarden.registry.artifacts import git_commit


def test_git_commit_reads_the_checked_out_commit(git_repo):
    repo, git = git_repo
    assert git_commit(repo) == git("rev-parse", "HEAD")


def test_git_commit_outside_a_work_tree_is_none(tmp_path):
    assert git_commit(tmp_path) is None


def test_git_commit_without_git_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_commit(tmp_path) is None
