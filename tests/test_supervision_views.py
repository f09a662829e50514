"""Supervision pages: who sees them, the actions through the pages, overdue items on home pages."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from survey import supervision
from survey.models import Inspection, Rectification, RectificationStatus, SpotCheck, Verdict
from tests.factories import UserFactory, make_child


@pytest.fixture
def inspection(cast, tree):
    for n in range(6):
        make_child(tree[f"410923{'100' if n < 4 else '101'}201"])
    return supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=date(2022, 9, 10), team="陈督导"
    )


@pytest.fixture
def officer2(tree):
    return UserFactory(username="county2", role="county_officer", region=tree["410923"])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("supervisor", 200),
        ("city", 200),
        ("county", 404),
        ("township", 404),
        ("cadre_c", 404),
        ("liaison", 404),
        ("sysadmin", 404),
    ],
)
def test_inspection_page_scope(client, cast, inspection, who, status):
    client.force_login(cast[who])
    assert client.get(reverse("inspection_detail", args=[inspection.pk])).status_code == status


def test_the_county_sees_its_own_inspection(client, officer2, inspection):
    client.force_login(officer2)
    assert client.get(reverse("inspection_detail", args=[inspection.pk])).status_code == 200
    assert [i.pk for i in client.get(reverse("inspection_list")).context["inspections"]] == [inspection.pk]


def test_supervision_pages_refuse_the_wrong_method(client, cast, inspection):
    client.force_login(cast["supervisor"])
    assert client.post(reverse("inspection_detail", args=[inspection.pk])).status_code == 405
    assert client.get(reverse("inspection_sample", args=[inspection.pk])).status_code == 405
    assert client.put(reverse("inspection_list")).status_code == 405


def test_supervisor_creates_an_inspection_of_an_assigned_county_only(client, cast, tree):
    client.force_login(cast["supervisor"])
    page = client.get(reverse("inspection_list"))
    assert [c.code for c in page.context["form"].fields["county"].queryset] == ["410923000000"]
    response = client.post(
        reverse("inspection_list"), {"county": tree["410922"].pk, "date": "2022-09-10", "team": "陈督导"}
    )
    assert response.status_code == 200
    assert Inspection.objects.count() == 0
    response = client.post(
        reverse("inspection_list"), {"county": tree["410923"].pk, "date": "2022-09-10", "team": "陈督导"}
    )
    assert response.status_code == 302
    assert Inspection.objects.get().county_code == "410923000000"


def test_sampling_and_spot_checks_through_the_page(client, cast, inspection):
    client.force_login(cast["supervisor"])
    client.post(reverse("inspection_sample", args=[inspection.pk]), {"size": "3", "seed": "20220910"})
    checks = list(SpotCheck.objects.filter(inspection=inspection))
    assert len(checks) == 3
    assert [c.record_id for c in checks] == [
        pk for pk, _ in supervision.draw_sample(inspection.county, 3, "20220910")
    ]
    client.post(reverse("spot_check", args=[checks[0].pk]), {"verdict": Verdict.FALSE, "note": "查无此人"})
    checks[0].refresh_from_db()
    assert (checks[0].verdict, checks[0].note) == (Verdict.FALSE, "查无此人")
    page = client.get(reverse("inspection_detail", args=[inspection.pk])).content.decode()
    assert "查无此人" in page
    assert "抽样种子 <code>20220910</code>" in page


def test_rectification_through_the_pages(client, cast, officer2, inspection):
    client.force_login(cast["supervisor"])
    deadline = (timezone.localdate() + timedelta(days=10)).isoformat()
    client.post(
        reverse("rectification_add", args=[inspection.pk]),
        {"description": "补齐监护人电话", "responsible_unit": "县2民政局", "deadline": deadline},
    )
    item = Rectification.objects.get()
    client.force_login(officer2)
    client.post(reverse("rectification_action", args=[item.pk, "done"]), {"evidence": "已补齐"})
    item.refresh_from_db()
    assert item.status == RectificationStatus.DONE
    client.force_login(cast["supervisor"])
    client.post(reverse("rectification_action", args=[item.pk, "close"]))
    item.refresh_from_db()
    assert item.status == RectificationStatus.CLOSED


def test_overdue_rectifications_show_on_county_and_city_home(client, cast, officer2, inspection):
    item = supervision.rectification_create(
        user=cast["supervisor"],
        inspection=inspection,
        description="建立无人监护儿童台账",
        responsible_unit="县2民政局",
        deadline=timezone.localdate() - timedelta(days=1),
    )
    for user in (officer2, cast["city"]):
        client.force_login(user)
        inbox = client.get(reverse("home")).context["inbox"]
        assert [i.pk for i in inbox["overdue_items"]] == [item.pk]
    client.force_login(cast["county"])  # another county
    assert client.get(reverse("home")).context["inbox"] is None


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_inspection_page_queries_do_not_grow_with_the_sample(client, cast, tree, inspection):
    client.force_login(cast["supervisor"])
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=inspection, size=1, seed="s")
    url = reverse("inspection_detail", args=[inspection.pk])
    few = _queries(client, url)
    second = supervision.inspection_create(
        user=cast["supervisor"], county=tree["410923"], date=date(2022, 9, 11), team="x"
    )
    for _ in range(20):
        make_child(tree["410923101202"])
    supervision.inspection_draw_sample(user=cast["supervisor"], inspection=second, size=20, seed="s")
    supervision.rectification_create(
        user=cast["supervisor"],
        inspection=second,
        description="a",
        responsible_unit="b",
        deadline=date(2030, 1, 1),
    )
    assert _queries(client, reverse("inspection_detail", args=[second.pk])) == few
