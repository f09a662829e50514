"""The audit log as an xlsx file (openpyxl write-only: memory stays flat however many rows)."""

import tempfile

from django.utils import timezone
from openpyxl import Workbook

from audit.display import EventReader

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [
    "时间",
    "用户名",
    "角色",
    "操作",
    "对象类型",
    "对象编号",
    "对象",
    "结果",
    "说明",
    "条数",
    "来源地址",
]
# A cell starting with one of these is a formula (or DDE payload) to Excel and WPS.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """``value`` as a cell that cannot run: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write(events, *, role_labels):
    """Write ``events`` (an iterable of AuditEvent) to a temporary file, every name, label and
    detail read as the page shows it (audit.display); returns (file, rows)."""
    reader = EventReader()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    sheet.append(HEADERS)
    rows = 0
    for event in events:
        sheet.append(
            [
                safe(value)
                for value in (
                    timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"),
                    reader.username(event),
                    role_labels.get(event.role, event.role),
                    event.get_action_display(),
                    reader.types.get(event.object_type, event.object_type),
                    event.object_id,
                    reader.label(event),
                    event.get_result_display(),
                    reader.detail(event),
                    event.row_count,
                    event.ip_address,
                )
            ]
        )
        rows += 1
    file = tempfile.TemporaryFile()
    workbook.save(file)
    file.seek(0)
    return file, rows
