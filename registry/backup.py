"""Backup and restore of the whole database (the registry is what must never be lost).

A backup is one file — ``pg_dump -Fc`` on PostgreSQL, a page-for-page copy made with SQLite's
backup API on SQLite — and beside it a manifest ``<file>.json``: for every table of the
project, its row count and a SHA-256 over its rows in primary-key order. Both are taken from
one snapshot of the database, so the manifest describes exactly what the file holds. A restore
puts the file back and computes the manifest again: equal counts and checksums prove that every
row came back as it was.

The checksum is computed the same way on both engines: rows are read through the ORM (so a
boolean is ``True`` on both, a datetime an aware UTC datetime, a JSON value a Python object) and
each row is written as canonical JSON.
"""

import datetime
import decimal
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from audit.services import Action, Result, audit_record

MANIFEST_FORMAT = 1
SUFFIX = {"postgresql": ".dump", "sqlite": ".sqlite3"}


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, in Chinese."""


def backup_models():
    """Every concrete table of the project, many-to-many tables included, in table-name order."""
    models = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]
    return sorted(models, key=lambda m: m._meta.db_table)


def _stable(value):
    """A JSON-ready value that reads the same whichever engine it came from."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot checksum {type(value).__name__}")


def table_manifest(model):
    """Row count and SHA-256 of ``model``'s table, rows in primary-key order."""
    fields = [f.attname for f in model._meta.concrete_fields]
    digest = hashlib.sha256()
    count = 0
    for row in model._base_manager.order_by("pk").values_list(*fields).iterator(chunk_size=2000):
        digest.update(json.dumps(row, default=_stable, ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
        count += 1
    return {"rows": count, "sha256": digest.hexdigest()}


def database_manifest():
    """``{table: {"rows": n, "sha256": hex}}`` for every table of the project."""
    return {m._meta.db_table: table_manifest(m) for m in backup_models()}


def _applied_migrations():
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path):
    return Path(f"{path}.json")


def default_backup_path(now=None):
    now = timezone.localtime(now)
    directory = Path(os.environ.get("BACKUP_DIR") or settings.BASE_DIR / "backups")
    return directory / f"liushou-{now:%Y%m%d-%H%M%S}{SUFFIX.get(connection.vendor, '.bak')}"


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_command(program, extra):
    """``program`` with the connection settings of the default database, and its environment."""
    if shutil.which(program) is None:
        raise BackupError(
            f"找不到 {program}：请安装与数据库服务器同一主版本的 PostgreSQL 客户端"
            "（如 postgresql-client-15）。"
        )
    db = connection.settings_dict
    args = [program, "--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return [*args, "--no-password", *extra], env


def _run(args, env, what):
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what}失败（{args[0]} 退出码 {result.returncode}）：{result.stderr.strip()}")


def _backup_postgresql(path):
    """pg_dump of the snapshot that the manifest is computed in (REPEATABLE READ, exported)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        manifest = database_manifest()
        migrations = _applied_migrations()
        args, env = _pg_command("pg_dump", ["--format=custom", f"--snapshot={snapshot}", "--file", str(path)])
        _run(args, env, "备份")
    return manifest, migrations


def _restore_postgresql(path):
    args, env = _pg_command(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", str(path)],
    )
    # Waiting on a table that the running application holds would hang: fail instead, and say so.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout=60000".strip()
    connection.close()
    try:
        _run(args, env, "恢复")
    except BackupError as error:
        raise BackupError(
            f"{error}\n数据库未作任何改动（恢复在一个事务中进行）。如提示锁等待超时，请先停止应用服务再恢复。"
        ) from None


# --- SQLite ----------------------------------------------------------------------------------


SQLITE_BACKUP_SECONDS = 120


def _backup_sqlite(path):
    """SQLite's online backup of the read transaction that the manifest is computed in."""
    with transaction.atomic():
        manifest = database_manifest()  # the first read opens the read transaction
        migrations = _applied_migrations()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target, progress=_give_up_after(SQLITE_BACKUP_SECONDS))
        finally:
            target.close()
    return manifest, migrations


def _give_up_after(seconds):
    """A backup progress callback that stops a backup still waiting after ``seconds``: SQLite
    retries a step whose source another connection holds locked for as long as it is held."""
    deadline = time.monotonic() + seconds

    def progress(status, remaining, total):
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise BackupError(
                f"数据库被其他连接锁定超过 {seconds} 秒，备份未完成：请稍后重试，或先停止后台进程。"
            )

    return progress


def _restore_sqlite(path):
    if connection.in_atomic_block:
        raise BackupError("恢复不能在事务中进行。")
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


# --- the two operations ----------------------------------------------------------------------


def backup_create(path):
    """Write a backup of the default database to ``path`` and its manifest to ``path``.json.

    Side effects: creates the folder if needed; refuses to overwrite an existing file; appends
    an 导出 event to the audit log (after the snapshot: the backup does not hold it).
    Returns the manifest (a dict).
    """
    path = Path(path)
    if path.exists():
        raise BackupError(f"文件 {path} 已存在，请换一个文件名（备份不会覆盖已有文件）。")
    path.parent.mkdir(parents=True, exist_ok=True)
    vendor = connection.vendor
    try:
        if vendor == "postgresql":
            tables, migrations = _backup_postgresql(path)
        elif vendor == "sqlite":
            tables, migrations = _backup_sqlite(path)
        else:
            raise BackupError(f"不支持的数据库：{vendor}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    manifest = {
        "format": MANIFEST_FORMAT,
        "engine": vendor,
        "database": str(connection.settings_dict["NAME"]),
        "created_at": timezone.localtime().isoformat(timespec="seconds"),
        "file": path.name,
        "file_sha256": file_sha256(path),
        "migrations": migrations,
        "tables": tables,
    }
    manifest_path(path).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    audit_record(
        action=Action.EXPORT,
        object_type="database",
        object_label="整库备份",
        detail=f"manage.py backup：{path.name}，{len(tables)} 张表",
        count=sum(t["rows"] for t in tables.values()),
    )
    return manifest


def manifest_read(path):
    """The manifest of the backup ``path``, after checking that the file is the one it describes."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}。")
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise BackupError(f"找不到备份清单 {mpath}：清单与备份文件须放在一起。")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        expected_sha = manifest["file_sha256"]
        manifest["tables"]
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"备份清单 {mpath} 已损坏，无法读取。") from None
    if file_sha256(path) != expected_sha:
        raise BackupError(f"备份文件 {path} 的校验和与清单不符：文件已损坏或被改动，不能用于恢复。")
    if manifest.get("engine") != connection.vendor:
        raise BackupError(
            f"这是 {manifest.get('engine')} 数据库的备份，当前数据库是 {connection.vendor}："
            "不能跨数据库类型恢复。"
        )
    return manifest


def manifest_compare(expected, actual):
    """Tables whose count or checksum differ: ``[(table, expected or None, actual or None)]``."""
    return [
        (table, expected.get(table), actual.get(table))
        for table in sorted(set(expected) | set(actual))
        if expected.get(table) != actual.get(table)
    ]


def backup_restore(path):
    """Replace the default database with the backup ``path``, then verify it against the manifest.

    Side effects: every table of the database is replaced by the backup's (on PostgreSQL in one
    transaction); then a 导入 event saying from which backup and whether it verified is appended
    to the (restored) audit log. Returns ``(manifest, differences)``; no differences means every
    table's count and checksum match the backup.
    """
    path = Path(path)
    manifest = manifest_read(path)
    if connection.vendor == "postgresql":
        _restore_postgresql(path)
    else:
        _restore_sqlite(path)
    differences = manifest_compare(manifest["tables"], database_manifest())
    audit_record(
        action=Action.IMPORT,
        object_type="database",
        object_label="整库恢复",
        result=Result.FAILURE if differences else Result.SUCCESS,
        detail=f"manage.py restore：{path.name}（{manifest['created_at']} 的备份），"
        + (f"{len(differences)} 张表与清单不符" if differences else "行数与校验和均与清单一致"),
        count=sum(t["rows"] for t in manifest["tables"].values()),
    )
    return manifest, differences
