"""The access log moves into the audit log (audit.AuditEvent, actions 查看/列表/查看历史/导出):
its rows are copied there, with the same who, what, when and from where, then the table goes."""

from django.db import migrations

CATEGORY_MODEL = {"child": "registry.child", "woman": "registry.woman", "elder": "registry.elder"}
CATEGORY_LABEL = {"child": "留守儿童", "woman": "留守妇女", "elder": "留守老人"}


def copy_to_audit(apps, schema_editor):
    AccessLog = apps.get_model("registry", "AccessLog")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    batch = []
    for log in AccessLog.objects.select_related("user").order_by("pk").iterator(chunk_size=2000):
        batch.append(
            AuditEvent(
                at=log.at,
                user_id=log.user_id,
                username=log.user.username,
                role=log.user.role,
                action=log.action,
                object_type=CATEGORY_MODEL.get(log.category, ""),
                object_id=log.record_id,
                object_label=CATEGORY_LABEL.get(log.category, ""),
                result="success",
                detail=log.detail,
                row_count=log.row_count,
                ip_address=log.ip_address,
            )
        )
        if len(batch) == 2000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_import_jobs"),
        ("audit", "0002_append_only_triggers"),
    ]

    operations = [
        # Reversing recreates an empty table: the copied events stay in the audit log.
        migrations.RunPython(copy_to_audit, migrations.RunPython.noop),
        migrations.DeleteModel(name="AccessLog"),
    ]
