"""airflow-repos.yaml: a good file is one typed model; every bad one is refused with file:line,
the field and the fix, all problems at once, and no credential is ever accepted inline."""

from __future__ import annotations

import textwrap

import pytest
from adp.repos.config import ReposConfigError, parse

GOOD = """\
# the platform's repositories
release_store:
  bucket: s3://dags
  env: prod
repositories:
  - name: company-workflows
    url: https://git.example.com/company/workflows.git
    branch: main
    auth_type: oauth_token
    token_env: COMPANY_GIT_TOKEN
    sync_interval: 60s
    namespace: company
    path: dags
    validation:
      enabled: true
      security_scan: true
    webhook:
      provider: github
      secret_env: COMPANY_HOOK_SECRET
  - name: community
    url: https://git.example.com/community/dags
    auth_type: public
    sync_interval: 5m
    namespace: community
  - name: personal
    url: git@git.example.com:me/dags.git
    branch: develop
    auth_type: ssh_key
    ssh_key_file: keys/personal
    known_hosts_file: keys/known_hosts
    sync_interval: 30
    namespace: personal
    auto_deploy: false
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ReposConfigError) as caught:
        parse(textwrap.dedent(text), "airflow-repos.yaml")
    return caught.value.problems


def test_the_seeds_shape_reads_into_a_typed_model() -> None:
    model = parse(GOOD, "airflow-repos.yaml")
    first, community, personal = model.repositories
    assert (first.name, first.namespace, first.path, first.sync_interval) == (
        "company-workflows",
        "company",
        "dags",
        60.0,
    )
    assert first.webhook is not None and first.webhook.provider == "github"
    assert community.sync_interval == 300.0 and community.branch == "main"
    assert community.auto_deploy is True
    assert personal.sync_interval == 30.0 and personal.auto_deploy is False
    assert personal.promoted_branch == "promoted/develop"


def replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            replace("    branch: main\n", "    branch: main\n    colour: red\n"),
            "airflow-repos.yaml:9: repositories[0].colour: unknown field",
        ),
        (
            replace("  - name: community\n", "  - name: company-workflows\n"),
            "airflow-repos.yaml:20: repositories[1].name: 'company-workflows' is already used by "
            "repositories[0]",
        ),
        (
            replace("    namespace: community\n", "    namespace: company\n"),
            "airflow-repos.yaml:24: repositories[1].namespace: 'company' is already used",
        ),
        (
            replace("sync_interval: 5m", "sync_interval: 2s"),
            "airflow-repos.yaml:23: repositories[1].sync_interval: '2s': must be between 10s",
        ),
        (
            replace("sync_interval: 5m", "sync_interval: often"),
            "repositories[1].sync_interval: 'often' is not a duration: write it as 60s",
        ),
        (
            replace(
                "    url: https://git.example.com/community/dags\n",
                "    url: ssh://git@git.example.com/community/dags\n",
            ),
            "airflow-repos.yaml:21: repositories[1].url: "
            "'ssh://git@git.example.com/community/dags' is an SSH URL, which needs auth_type: "
            "ssh_key",
        ),
        (
            replace("    token_env: COMPANY_GIT_TOKEN\n", "    token: ghp_abcdefghijklmnop\n"),
            "airflow-repos.yaml:10: repositories[0].token: credentials are never written in "
            "airflow-repos.yaml",
        ),
        (
            replace("      secret_env: COMPANY_HOOK_SECRET\n", "      secret: hunter2hunter2\n"),
            "airflow-repos.yaml:19: repositories[0].webhook.secret: credentials are never written",
        ),
        (
            replace(
                "https://git.example.com/company/workflows.git",
                "https://bot:s3cr3t@git.example.com/company/workflows.git",
            ),
            "airflow-repos.yaml:7: repositories[0].url: 'https://***@git.example.com/company/"
            "workflows.git': credentials are never written",
        ),
        (
            replace("token_env: COMPANY_GIT_TOKEN", "token_env: ghp_0123456789abcdefghij-x"),
            "repositories[0].token_env: this is not an environment variable's name",
        ),
        (
            replace("      security_scan: true\n", "      security_scan: false\n"),
            "airflow-repos.yaml:16: repositories[0].validation.security_scan: validation and the "
            "security scan are mandatory",
        ),
        (
            replace(
                "      security_scan: true\n",
                "      security_scan: true\n      auto_deploy: false\n",
            ),
            "airflow-repos.yaml:17: repositories[0].validation.auto_deploy: unknown field",
        ),
        (
            replace("    known_hosts_file: keys/known_hosts\n", ""),
            "repositories[2].known_hosts_file: auth_type ssh_key needs known_hosts_file",
        ),
        (
            replace(
                "    ssh_key_file: keys/personal\n",
                "    ssh_key_env: PERSONAL_KEY\n    ssh_key_file: k\n",
            ),
            "repositories[2].ssh_key_file: auth_type ssh_key needs exactly one of ssh_key_file",
        ),
        (
            replace(
                "https://git.example.com/company/workflows.git",
                "http://git.example.com/company/workflows.git",
            ),
            "repositories[0].url: a token over plain http would cross the network in clear",
        ),
        (
            replace("    namespace: company\n", "    namespace: Company-1\n"),
            "airflow-repos.yaml:12: repositories[0].namespace: package 'Company-1'",
        ),
        (
            replace("    branch: develop\n", "    branch: promoted/develop\n"),
            "repositories[2].branch: promoted/* branches are the platform's own",
        ),
        (replace("  env: prod\n", "  env: Prod!\n"), "airflow-repos.yaml:4: release_store.env"),
        (
            replace("  bucket: s3://dags\n", ""),
            "airflow-repos.yaml:2: release_store.bucket: required: add it",
        ),
        (
            replace("    auth_type: public\n", "    auth_type: anonymous\n"),
            "airflow-repos.yaml:22: repositories[1].auth_type: Input should be 'public'",
        ),
    ],
)
def test_bad_input_is_refused_with_file_line_and_the_field(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("token_env: COMPANY_GIT_TOKEN", "token_env: ghp_16C7e42F292c6912E7710c838347Ae178B4a",
         "token_env: this is not an environment variable's name"),
        ("https://git.example.com/company/workflows.git",
         "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@git.example.com/company/w.git",
         "'https://***@git.example.com/company/w.git': credentials are never written"),
        ("git@git.example.com:me/dags.git", "ssh://git:hunter2hunter2@git.example.com/me/d.git",
         "'ssh://git:***@git.example.com/me/d.git': credentials are never written"),
        ("https://git.example.com/community/dags",
         "https://hunter2hunter2@git.example.com/community/dags",
         "'https://***@git.example.com/community/dags': credentials are never written"),
    ],
)  # fmt: skip
def test_a_credential_in_the_wrong_place_is_refused_and_never_shown(
    old: str, new: str, expected: str
) -> None:
    found = problems(replace(old, new))
    assert any(expected in p for p in found), found
    for secret in ("ghp_16C7e42F", "hunter2hunter2"):
        assert not any(secret in p for p in found), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("release_store:\n  bucket: x\n  env: dev\nrepositories:\n  - ? [a]\n    : b\n",
         "airflow-repos.yaml:5: a key must be a plain name"),
        ("release_store:\n  bucket: x\n  env: dev\nrepositories: &a [*a]\n",
         "airflow-repos.yaml:4: anchors and aliases (& and *) are not supported"),
        ("release_store: &s\n  bucket: x\n  env: dev\nother: *s\n",
         "airflow-repos.yaml:1: anchors and aliases"),
        (GOOD.replace("      security_scan: true\n",
                      "      security_scan: true\n      python: /bin/python3\n      image: l1\n"),
         "repositories[0].validation: python and image both choose"),
        (GOOD.replace("    branch: develop\n", "    branch: feature/.hidden\n"),
         "repositories[2].branch: 'feature/.hidden' is not a branch name"),
        (GOOD.replace("git@git.example.com:me/dags.git", "-oProxyCommand=x@h:p"),
         "repositories[2].url: '-oProxyCommand=x@h:p': not a repository URL"),
    ],
)  # fmt: skip
def test_hostile_yaml_is_a_message_never_a_crash(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    text = replace("sync_interval: 5m", "sync_interval: 1s").replace(
        "    namespace: personal\n", "    namespace: personal\n    colour: red\n"
    )
    found = problems(text)
    assert len(found) == 2, found
    text = replace("namespace: personal", "namespace: company").replace("2s", "1s")
    found = problems(text.replace("  - name: community", "  - name: company-workflows"))
    assert len(found) == 2, found  # the checks across entries report together too


def test_yaml_errors_and_duplicate_keys_name_the_line() -> None:
    assert problems("release_store: [\n")[0].startswith("airflow-repos.yaml:2:")
    found = problems(replace("    branch: main\n", "    branch: main\n    branch: dev\n"))
    assert found == [
        "airflow-repos.yaml:9: key 'branch' is written twice in one mapping (keep one); fix the "
        "YAML"
    ]
    assert "must be a mapping" in problems("- a\n- b\n")[0]
