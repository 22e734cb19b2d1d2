"""What the operator may give the code the import check runs (pass_env: ValidationOptions,
`adp dags validate --pass-env`, airflow-repos.yaml's validation.pass_env) and what it may not:
any variable the platform's settings name as a credential, its own settings, Airflow's secrets.
A refused name is a clear message and nothing runs. `adp doctor` says which isolation the
import check gets on this machine."""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from pathlib import Path

import pytest
from adp.cli.main import app
from adp.validation import ValidationOptions
from adp_test_helpers.dag_corpus import dag
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

runner = CliRunner()

RESERVED = ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "ADP_AIRFLOW_TOKEN",
            "AWS_SECRET_ACCESS_KEY", "AIRFLOW_CONN_WAREHOUSE", "AIRFLOW_VAR_LIMIT",
            "AIRFLOW__SECRETS__BACKEND_KWARGS", "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__CORE__FERNET_KEY_CMD", "AIRFLOW__SMTP__SMTP_PASSWORD_SECRET", "HOME",
            "AIRFLOW_HOME", "KRB5CCNAME", "SSH_AUTH_SOCK"]  # fmt: skip
VARIABLE = st.from_regex(r"[A-Z_][A-Z0-9_]{0,40}", fullmatch=True)


@pytest.mark.parametrize("name", RESERVED)
def test_the_platforms_own_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ValidationOptions(package="corp", pass_env=[name])
    message = str(caught.value)
    assert "pass_env" in message and name in message and "remove it" in message


@settings(max_examples=200, deadline=None)
@given(name=VARIABLE, others=st.lists(VARIABLE, max_size=4))
def test_a_withheld_name_is_refused_whatever_it_is(name: str, others: list[str]) -> None:
    """Any name the platform's settings hold a credential in (withheld_env) is refused as
    pass_env, with the reason, never silently dropped."""
    with pytest.raises(ValidationError, match="credential the platform's settings name"):
        ValidationOptions(package="corp", pass_env=[*others, name], withheld_env=[name])


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A=B", "ghp_abc def", ""])
def test_a_value_where_a_name_belongs_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="not an environment variable's name"):
        ValidationOptions(package="corp", pass_env=[name])


def test_cli_pass_env_gives_that_variable_and_refuses_a_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--pass-env CORP_REGION` reaches the file; `--pass-env ADP_AIRFLOW_TOKEN` is exit 2, a
    message naming the variable and the fix, and no import; no value in any output."""
    secret = f"planted-{uuid.uuid4().hex}"
    monkeypatch.setenv("CORP_REGION", "eu-west-1")
    monkeypatch.setenv("ADP_AIRFLOW_TOKEN", secret)
    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    folder = tmp_path / "dags"
    folder.mkdir()
    # (it can write nowhere outside its temporary folder: it checks what it sees itself)
    (folder / "corp_region.py").write_text(
        dag("corp_region", top="import os\nassert os.environ['CORP_REGION'] == 'eu-west-1'")
    )
    base = ["dags", "validate", str(folder), "--package", "corp"]
    refused = runner.invoke(app, [*base, "--pass-env", "ADP_AIRFLOW_TOKEN"])
    assert refused.exit_code == 2, refused.output
    assert "ADP_AIRFLOW_TOKEN" in refused.output and "pass_env" in refused.output
    assert secret not in refused.output and "import check" not in refused.output
    passed = runner.invoke(app, [*base, "--pass-env", "CORP_REGION"])
    assert passed.exit_code == 0, passed.output  # it imported, and saw eu-west-1
    without = runner.invoke(app, [*base, "--format", "json"])
    assert without.exit_code == 1  # KeyError: CORP_REGION, not given
    findings = json.loads(without.output)["findings"]
    assert [f["rule"] for f in findings if f["rule"].startswith("ADP")] == ["ADP020"]


# -- airflow-repos.yaml and the promoter ----------------------------------------------------
REPOS = """\
release_store:
  bucket: {store}
  env: dev
repositories:
  - name: sales
    url: {url}
    namespace: sales
    path: dags
    auth_type: {auth}
{credential}
    validation:
      pass_env: [CORP_REGION, {passed}]
    webhook:
      provider: github
      secret_env: SALES_HOOK_KEY
"""


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(["token_env", "ssh_key_env", "webhook"]), name=VARIABLE)
def test_pass_env_naming_a_credential_of_the_file_is_refused_at_load(field: str, name: str) -> None:
    """A variable the file names as a credential (a token_env, ssh_key_env or webhook
    secret_env of any entry) listed in validation.pass_env: the file is refused, at the line of
    that list, naming the field; the promoter never starts."""
    from adp.repos.config import ReposConfigError, parse

    if field == "token_env":
        auth, url, credential = "oauth_token", "https://git.example.com/s.git", f"token_env: {name}"
    elif field == "ssh_key_env":
        auth, url = "ssh_key", "git@git.example.com:s.git"
        credential = f"ssh_key_env: {name}\nknown_hosts_file: known_hosts"
    else:
        auth, url, credential = "public", "https://git.example.com/s.git", ""
        name = "SALES_HOOK_KEY"
    text = REPOS.format(
        store="/srv/store",
        url=url,
        auth=auth,
        credential=textwrap.indent(credential, "    "),
        passed=name,
    )
    with pytest.raises(ReposConfigError) as caught:
        parse(text, "airflow-repos.yaml")
    problems = [p for p in caught.value.problems if "pass_env" in p]
    line = 1 + text.splitlines().index(f"      pass_env: [CORP_REGION, {name}]")
    assert problems and problems[0].startswith(f"airflow-repos.yaml:{line}:"), problems
    assert "repositories[0].validation.pass_env[1]" in problems[0]
    assert name in problems[0] and "credential" in problems[0]


def test_the_promoter_gives_a_commit_only_the_allow_list_and_pass_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pushed commit's DAG file, validated by the promoter (with an ImportStandby, as `adp
    repos serve`): it sees CORP_REGION (validation.pass_env), none of the variables the promoter
    holds, and the webhook's secret_env least of all."""
    from adp.releases.local_store import LocalStore
    from adp.repos.config import load_config
    from adp.repos.promote import Promoter
    from adp.validation import ImportStandby
    from adp_test_helpers.repo_support import Upstream, dag_text

    names = ("SALES_HOOK_KEY", "DEPLOY_KEY", "SALES_GIT_PAT", "DB_PASS",
             "AIRFLOW__CORE__FERNET_KEY", "ADP_AIRFLOW_TOKEN")  # fmt: skip
    planted = {name: f"planted-{name.lower()}-{uuid.uuid4().hex}" for name in names}
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CORP_REGION", "eu-west-1")
    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    upstream = Upstream(tmp_path)
    # The DAG file checks what it sees (it can write nowhere outside its temporary folder):
    # promoted means it saw CORP_REGION and none of the planted names or values.
    check = (
        "\nimport json, os\nassert os.environ['CORP_REGION'] == 'eu-west-1'\n"
        f"assert not set(os.environ) & {set(names)!r}\n"
        "assert 'planted-' not in json.dumps(dict(os.environ))\n"
    )
    sha = upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", extra=check)}, "first")
    config = tmp_path / "airflow-repos.yaml"
    config.write_text(
        REPOS.format(
            store=tmp_path / "store", url=upstream.url, auth="public", credential="", passed="TZ"
        )
    )
    with ImportStandby() as standby:
        promoter = Promoter(
            load_config(config),
            actor="tester",
            store=LocalStore(tmp_path / "store"),
            standby=standby,
        )
        result = promoter.sync("sales")
    assert (result.outcome, result.commit) == ("promoted", sha), result


# -- adp doctor ----------------------------------------------------------------------------
def test_doctor_says_which_isolation_the_import_check_gets(tmp_path: Path) -> None:
    from adp.doctor import Context, checks

    path = os.environ["PATH"]
    strong = checks.check_import_isolation(Context(env={"PATH": path}, cwd=tmp_path))
    assert strong.status == "ok" and "network namespace" in strong.detail, strong
    forced = checks.check_import_isolation(
        Context(env={"PATH": path, "ADP_IMPORT_ISOLATION": "in-process"}, cwd=tmp_path)
    )
    assert forced.status == "warn" and "in-process isolation only" in forced.detail
    assert "ADP_IMPORT_ISOLATION=in-process" in forced.detail and "namespaces" in forced.fix
    bare = checks.check_import_isolation(Context(env={"PATH": str(tmp_path)}, cwd=tmp_path))
    assert bare.status == "warn" and "no unshare and setpriv on PATH" in bare.detail
    required = checks.check_import_isolation(
        Context(env={"PATH": str(tmp_path), "ADP_IMPORT_ISOLATION": "namespace"}, cwd=tmp_path)
    )
    assert required.status == "fail" and required.required
    wrong = checks.check_import_isolation(
        Context(env={"PATH": path, "ADP_IMPORT_ISOLATION": "sandbox"}, cwd=tmp_path)
    )
    assert wrong.status == "fail" and "use auto, namespace or in-process" in wrong.detail
