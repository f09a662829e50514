"""Append-only in the database too: a trigger refuses every UPDATE of an audit event and every
DELETE but a purge of events older than the 180-day minimum retention.

PostgreSQL: a purge must also set the transaction-local flag ``audit.allow_purge`` (only
``audit.services.audit_purge`` does). SQLite (development): no session flag exists, so the age
alone decides. TRUNCATE is not guarded (the test runner's flush uses it on PostgreSQL); only the
table's owner can truncate, and the application's account should not own it in production.

SQLite rebuilds a table to alter it and the triggers die with the old one: a later migration
that alters AuditEvent must create them again (tests/test_audit_log.py checks that they hold).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('audit.allow_purge', true) = 'on'
       AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '审计日志只能追加，不能修改或删除（%）', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""

SQLITE_FORWARD = [
    """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, '审计日志只能追加，不能修改或删除（UPDATE）');
END;
""",
    # Django stores SQLite datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]': text order is time order.
    """
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
WHEN OLD.at >= datetime('now', '-180 days')
BEGIN
    SELECT RAISE(ABORT, '审计日志只能追加，不能修改或删除（DELETE）');
END;
""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_event")]

    operations = [migrations.RunPython(forward, reverse, elidable=False)]
