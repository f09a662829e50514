"""The import's background task moved from registry.tasks to registry.roster.tasks (issue 13: the
import has one home): tasks queued under the old path are pointed at the new one."""

from django.db import migrations

OLD, NEW = "registry.tasks.run_import_job", "registry.roster.tasks.run_import_job"


def repoint(old, new):
    def run(apps, schema_editor):
        DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
        DBTaskResult.objects.filter(task_path=old).update(task_path=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0016_import_job_assessment_missing"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(repoint(OLD, NEW), repoint(NEW, OLD))]
