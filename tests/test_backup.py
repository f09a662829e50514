"""Backup and restore round trip (`manage.py backup` / `restore`): a database is backed up, then
rows are changed, deleted and added behind the application's back, then the backup is restored
and every table's row count and checksum must equal the backup's manifest again.

Runs on whichever engine the suite runs on: SQLite by default, PostgreSQL (pg_dump and
pg_restore) with DATABASE_URL; .ci/run runs both.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from registry import records
from registry.backup import database_manifest, manifest_path
from registry.models import Child, IdentityClaim
from survey import services as survey_services
from survey.models import VillageReturn
from tests.factories import ChildFactory, ElderFactory, WomanFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("audit_log_flushable_on_sqlite"),
]

A, B = "410922100201", "410922100202"


@pytest.fixture
def registry(cast, tree, campaign):
    """Children with history, a woman, an elder, and a submitted village return."""
    children = [ChildFactory(village=tree[A], created_by=cast["cadre_a"]) for _ in range(3)]
    children[0] = records.record_update(
        record=children[0], user=cast["cadre_a"], data={"name": "改过的名字"}, version=1
    )
    WomanFactory(village=tree[B], created_by=cast["cadre_b"])
    ElderFactory(village=tree[B], created_by=cast["cadre_b"])
    village_return = VillageReturn.objects.get(campaign=campaign, village=tree[A])
    survey_services.village_return_submit(user=cast["cadre_a"], village_return=village_return)
    return children


def _without_audit_log(tables):
    """Every table but the audit log, which gains an event after each backup and restore."""
    return {table: entry for table, entry in tables.items() if table != "audit_auditevent"}


def _backup(path):
    out = StringIO()
    call_command("backup", str(path), stdout=out)
    return out.getvalue()


def _restore(path, *args):
    out = StringIO()
    call_command("restore", str(path), *args, stdout=out)
    return out.getvalue()


def _lose_data(children, tree):
    """What an accident or an intruder might do: change, delete and add rows directly."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_child SET name = %s WHERE id = %s", ["被篡改", children[1].pk])
        cursor.execute("DELETE FROM registry_historicalchild WHERE id = %s", [children[0].pk])
        cursor.execute("DELETE FROM registry_identityclaim WHERE id_number = %s", [children[2].id_number])
        cursor.execute("UPDATE survey_villagereturn SET state = %s", ["not_started"])
    ChildFactory(village=tree[B])


def test_backup_restore_round_trip_brings_back_every_row(registry, tree, tmp_path):
    children = registry
    path = tmp_path / "backups" / "liushou.bak"

    output = _backup(path)

    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    assert manifest["engine"] == connection.vendor
    assert _without_audit_log(manifest["tables"]) == _without_audit_log(database_manifest())
    assert list(AuditEvent.objects.filter(object_type="database").values_list("action", "detail")) == [
        ("export", f"manage.py backup：{path.name}，{len(manifest['tables'])} 张表")
    ]
    counts = {t: manifest["tables"][t]["rows"] for t in ("registry_child", "registry_historicalchild")}
    assert counts == {"registry_child": 3, "registry_historicalchild": 4}
    assert manifest["tables"]["registry_woman"]["rows"] == manifest["tables"]["registry_elder"]["rows"] == 1
    total = sum(t["rows"] for t in manifest["tables"].values())
    assert output.splitlines()[0] == f"已备份到 {path}（{len(manifest['tables'])} 张表，共 {total} 行）。"

    _lose_data(children, tree)
    changed = {table for table, entry in database_manifest().items() if entry != manifest["tables"][table]}
    assert changed >= {
        "registry_child",
        "registry_historicalchild",
        "registry_identityclaim",
        "registry_villagestatistics",
        "survey_villagereturn",
    }

    output = _restore(path, "--yes")

    assert _without_audit_log(database_manifest()) == _without_audit_log(manifest["tables"])
    restored_audit = AuditEvent.objects.exclude(object_type="database")
    assert restored_audit.count() == manifest["tables"]["audit_auditevent"]["rows"]
    assert list(
        AuditEvent.objects.filter(object_type="database").values_list("action", "result", "detail")
    ) == [
        (
            "import",
            "success",
            f"manage.py restore：{path.name}（{manifest['created_at']} 的备份），行数与校验和均与清单一致",
        )
    ]
    assert output == (
        f"已从 {path} 恢复（{manifest['created_at']} 的备份）："
        f"{len(manifest['tables'])} 张表、共 {total} 行，"
        "行数与校验和均与备份清单一致。\n"
    )
    assert sorted(Child.objects.values_list("name", flat=True)) == sorted(
        ["改过的名字", children[1].name, children[2].name]
    )
    assert IdentityClaim.objects.filter(id_number=children[2].id_number).count() == 1
    assert children[0].history.count() == 2
    assert set(VillageReturn.objects.values_list("village__code", "state")) >= {(A, "submitted")}


def test_restore_without_yes_is_refused_and_changes_nothing(registry, tree, tmp_path):
    path = tmp_path / "liushou.bak"
    _backup(path)
    _lose_data(registry, tree)
    before = database_manifest()

    with pytest.raises(CommandError) as refused:
        _restore(path)

    assert str(refused.value).endswith("当前数据将丢失。确认无误后请加 --yes 重新运行。")
    assert database_manifest() == before


def test_restore_of_a_damaged_file_is_refused(registry, tmp_path):
    path = tmp_path / "liushou.bak"
    _backup(path)
    with open(path, "ab") as f:
        f.write(b"\0")
    before = database_manifest()

    with pytest.raises(CommandError) as refused:
        _restore(path, "--yes")

    assert str(refused.value) == f"备份文件 {path} 的校验和与清单不符：文件已损坏或被改动，不能用于恢复。"
    assert database_manifest() == before


def test_restore_of_another_engines_backup_is_refused(registry, tmp_path):
    path = tmp_path / "liushou.bak"
    _backup(path)
    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    manifest_path(path).write_text(json.dumps({**manifest, "engine": other}), encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        _restore(path, "--yes")

    assert str(refused.value) == (
        f"这是 {other} 数据库的备份，当前数据库是 {connection.vendor}：不能跨数据库类型恢复。"
    )


def test_backup_never_overwrites_a_file(db, tmp_path):
    path = tmp_path / "liushou.bak"
    path.write_bytes(b"older backup")

    with pytest.raises(CommandError) as refused:
        _backup(path)

    assert str(refused.value) == f"文件 {path} 已存在，请换一个文件名（备份不会覆盖已有文件）。"
    assert path.read_bytes() == b"older backup"
    assert not manifest_path(path).exists()


def test_restore_without_a_manifest_is_refused(db, tmp_path):
    path = tmp_path / "liushou.bak"
    path.write_bytes(b"no manifest beside me")

    with pytest.raises(CommandError) as refused:
        _restore(path, "--yes")

    assert str(refused.value) == f"找不到备份清单 {path}.json：清单与备份文件须放在一起。"
