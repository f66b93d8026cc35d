"""The in-cluster stores' read-only identity (what KServe pulls models with): SeaweedFS's identities file gives it
list and read on the buckets alone; MinIO's bucket Job makes it a user with a policy of exactly that, idempotently,
and fails loudly on anything but "already attached" (run here with a stand-in `mc` that answers as MinIO's does)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlstack.components.kubernetes.object_store import reader_policy, reader_script
from mlstack.components.local.seaweedfs import identities


def test_seaweedfs_reader_may_only_list_and_read_the_buckets():
    found = json.loads(identities("ROOT", "root-secret", ("READER", "reader-secret", ["mlstack", "datasets"])))
    reader = next(i for i in found["identities"] if i["name"] == "mlstack-reader")
    assert reader["credentials"] == [{"accessKey": "READER", "secretKey": "reader-secret"}]
    assert sorted(reader["actions"]) == ["List:datasets", "List:mlstack", "Read:datasets", "Read:mlstack"]
    assert [i["name"] for i in json.loads(identities("ROOT", "s"))["identities"]] == ["mlstack"]


def test_minio_reader_policy_lists_and_reads_nothing_else():
    statements = json.loads(reader_policy(["mlstack"]))["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    assert {r for s in statements for r in s["Resource"]} == {"arn:aws:s3:::mlstack", "arn:aws:s3:::mlstack/*"}


@pytest.mark.parametrize(("attach", "code"), [("ok", 0), ("already", 0), ("denied", 1)])
def test_minio_reader_script_is_idempotent_and_fails_on_real_errors(tmp_path: Path, attach: str, code: int):
    log = tmp_path / "calls"
    mc = tmp_path / "mc"
    mc.write_text(f"""#!/bin/sh
echo "$*" >> {log}
case "$*" in
  "admin policy attach"*)
    case "{attach}" in
      ok) exit 0 ;;
      already) echo "mc: <ERROR> policy change is already in effect" >&2; exit 1 ;;
      *) echo "mc: <ERROR> Access Denied." >&2; exit 1 ;;
    esac ;;
esac
exit 0
""")
    mc.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "READER_USER": "R", "READER_PASSWORD": "P"}
    script = reader_script(["mlstack"]).replace("/tmp/reader.json", str(tmp_path / "reader.json"))
    done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == code, done.stderr
    assert ("Access Denied" in done.stderr) == (attach == "denied")
    assert json.loads((tmp_path / "reader.json").read_text()) == json.loads(reader_policy(["mlstack"]))
    assert log.read_text().splitlines()[0] == "admin user add store R P"
