"""Two people at once: a stale form never overwrites a newer save, and one ID number is never
registered twice, even by two villages in the same instant (PostgreSQL: real locking)."""

import threading

import factory
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from registry import records
from registry.models import Child, IdentityClaim
from tests.factories import ChildFactory, UserFactory, form_data, make_id_number, region_tree, years_ago

A, C = "410922100201", "410923100201"
STALE = "该记录已被他人修改，请刷新后重试"

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks: concurrency is tested on PostgreSQL"
)


def test_record_edit_second_of_two_open_forms_is_refused(client, cast, tree):
    child = ChildFactory(village=tree[A], name="原名")
    edit = reverse("record_edit", kwargs={"kind": "children", "pk": child.pk})
    client.force_login(cast["cadre_a"])
    first = form_data(child, None, name="甲改")
    second = form_data(child, None, name="乙改", guardian_name="乙填的监护人")
    assert first["version"] == second["version"] == 1

    assert client.post(edit, first).status_code == 302
    client.force_login(cast["township"])
    response = client.post(edit, second)

    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": [STALE]}
    assert (
        f'<div class="alert alert-danger" role="alert"><div>{STALE}</div></div>' in response.content.decode()
    )
    child.refresh_from_db()
    assert (child.name, child.guardian_name, child.version) == ("甲改", first["guardian_name"], 2)
    assert child.history.count() == 2


def test_record_status_from_a_stale_page_is_refused(client, cast, tree):
    child = ChildFactory(village=tree[A])
    records.record_update(record=child, user=None, data={"name": "新名"}, version=1)
    client.force_login(cast["cadre_a"])
    data = {"reason": "moved_out", "date": "2026-11-01", "note": "", "version": 1}
    response = client.post(reverse("record_status", kwargs={"kind": "children", "pk": child.pk}), data)
    assert response.context["form"].errors == {"__all__": [STALE]}
    child.refresh_from_db()
    assert (child.status, child.version) == ("active", 2)


def test_record_update_without_a_version_is_refused(cast, tree):
    child = ChildFactory(village=tree[A])
    with pytest.raises(records.StaleRecord):
        records.record_update(record=child, user=None, data={"name": "新名"}, version=None)
    child.refresh_from_db()
    assert (child.name, child.version) == (child.name, 1)


def _run_together(*calls):
    """Run each call in its own thread and database connection, released at the same instant.
    Returns each call's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_record_create_same_id_in_two_villages_at_once_registers_one():
    tree = region_tree()
    cadres = {
        code: UserFactory(role="village_cadre", region=tree[code], last_name="赵", first_name=code[-1])
        for code in (A, C)
    }
    number = make_id_number("410922", years_ago(9))

    def create(code):
        data = factory.build(dict, FACTORY_CLASS=ChildFactory, village=tree[code], id_number=number)
        del data["created_by"]
        return lambda: records.record_create(model=Child, user=cadres[code], data=data)

    results = _run_together(create(A), create(C))

    created = [r for r in results if isinstance(r, Child)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(created), len(refused)) == (1, 1)
    winner = created[0]
    assert list(Child.objects.values_list("pk", "village_code")) == [(winner.pk, winner.village_code)]
    claim = IdentityClaim.objects.get()
    assert (claim.id_number, claim.village_id) == (number, winner.village_id)
    place = {A: "县1县1镇1县1镇1村1", C: "县2县2镇1县2镇1村1"}[winner.village_code]
    cadre = cadres[winner.village_code]
    assert refused[0].message_dict == {
        "id_number": [
            f"该身份证号已在{place}登记为留守儿童，同一人只能登记一次。"
            f"如信息有误或人员已迁入本村，请联系{winner.village.name}儿童主任{cadre.display_name}核实。"
        ]
    }


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_record_update_same_version_at_once_saves_one():
    tree = region_tree()
    child = ChildFactory(village=tree[A], name="原名")

    def update(name):
        return lambda: records.record_update(
            record=Child.objects.get(pk=child.pk), user=None, data={"name": name}, version=1
        )

    results = _run_together(update("甲改"), update("乙改"))

    saved = [r for r in results if isinstance(r, Child)]
    stale = [r for r in results if isinstance(r, records.StaleRecord)]
    assert (len(saved), len(stale)) == (1, 1)
    assert stale[0].messages == [STALE]
    child.refresh_from_db()
    assert (child.name, child.version) == (saved[0].name, 2)
    assert child.history.count() == 2
