"""Care loop (issue 15 §3–4): reports and cases through their table — every (state, action) against the
service, for whom the row allows and nobody else; deadlines on their hour and the hour after; the
escalation to the county's and the city's boards, idempotent; abuse cases' content hidden; a case
opened by the system for a child whose record says 无人监护; referrals answered only by their unit."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import policy
from accounts.models import Organisation, OrganisationKind, Role
from care import cases, workflows
from care.models import Case, CaseEvent, CaseState, ChildCare, Referral, ReferralState
from registry import records
from registry.choices import GuardianAssessment, GuardianshipType
from tests.factories import UserFactory, make_child
from workflow import TransitionRefused, clock

A, C = "410922100201", "410923100201"
REASON = "核实后处理"


@pytest.fixture
def units(tree):
    city = tree["4109"]
    return {
        code: Organisation.objects.create(
            name=name, code=code, kind=OrganisationKind.MEMBER_UNIT, region=city
        )
        for code, name in (("education", "市教育局"), ("police", "市公安局"), ("health", "市卫生健康委"))
    }


@pytest.fixture
def liaisons(tree, units):
    return {
        code: UserFactory(
            username=f"liaison_{code}", role=Role.LIAISON, region=tree["4109"], organisation=unit
        )
        for code, unit in units.items()
    }


def _report(cast, tree, *, who="cadre_a", kind="dropout", urgency="normal", child=None, now=None):
    village = tree[A]
    child = child or make_child(village)
    return cases.case_open(
        user=cast[who],
        village=village,
        child=child,
        kind=kind,
        urgency=urgency,
        description="孩子已两周没去上学",
        now=now,
    )


# --- the table ----------------------------------------------------------------------------------


def test_the_case_table_is_the_chain_of_guofa_2016_13():
    S = CaseState
    assert [(s, a, row.target) for (s, a), row in workflows.CASE.rows.items()] == [
        (S.REPORTED, "accept", S.DISPOSING),
        (S.REPORTED, "reject", S.REJECTED),
        (S.DISPOSING, "assess", S.ASSESSED),
        (S.ASSESSED, "plan", S.HELPING),
        (S.HELPING, "request_close", S.CLOSING),
        (S.CLOSING, "approve_close", S.CLOSED),
        (S.CLOSING, "return_close", S.HELPING),
    ]


def _run(action, user, case):
    call = {
        "accept": lambda: cases.case_accept(user=user, case=case),
        "reject": lambda: cases.case_reject(user=user, case=case, reason=REASON),
        "assess": lambda: cases.case_assess(
            user=user, case=case, safety="安全", guardianship="祖母照料", health="良好"
        ),
        "plan": lambda: cases.case_plan(
            user=user, case=case, items=[{"kind": "schooling", "owner": "县教育局", "due_on": clock.today()}]
        ),
        "request_close": lambda: cases.case_request_close(user=user, case=case, outcome="已复学"),
        "approve_close": lambda: cases.case_approve_close(user=user, case=case),
        "return_close": lambda: cases.case_return_close(user=user, case=case, reason=REASON),
    }[action]
    return call()


WHO_MAY = {
    "accept": "township",
    "reject": "township",
    "assess": "township",
    "plan": "county",
    "request_close": "township",
    "approve_close": "county",
    "return_close": "county",
}


@pytest.mark.parametrize("state", CaseState.values)
@pytest.mark.parametrize("action", workflows.CASE.actions)
def test_every_case_action_in_every_state_does_what_the_table_says(cast, tree, action, state):
    case = _report(cast, tree)
    Case.objects.filter(pk=case.pk).update(state=state, accepted_at=timezone.now())
    case.refresh_from_db()
    row = workflows.CASE.row(state, action)
    events = CaseEvent.objects.filter(case=case).count()
    if row is None:
        with pytest.raises(TransitionRefused) as refused:
            _run(action, cast[WHO_MAY[action]], case)
        assert refused.value.messages == [
            f"该个案当前为「{CaseState(state).label}」，不能{workflows.CASE.label(action)}。"
        ]
        assert (Case.objects.get(pk=case.pk).state, CaseEvent.objects.filter(case=case).count()) == (
            state,
            events,
        )
    else:
        _run(action, cast[WHO_MAY[action]], case)
        event = CaseEvent.objects.filter(case=case).last()
        assert (Case.objects.get(pk=case.pk).state, event.action, event.from_state, event.to_state) == (
            row.target,
            action,
            state,
            row.target,
        )


@pytest.mark.parametrize(("state", "action"), list(workflows.CASE.rows))
def test_nobody_the_case_row_does_not_allow_takes_it(cast, tree, state, action):
    case = _report(cast, tree)
    Case.objects.filter(pk=case.pk).update(state=state, accepted_at=timezone.now())
    case.refresh_from_db()
    allowed = {name for name, user in cast.items() if workflows.CASE.row(state, action).may(user, case)}
    assert allowed == (
        {"township", "county"} if action not in ("approve_close", "return_close") else {"county"}
    )
    for name in set(cast) - allowed:
        with pytest.raises(TransitionRefused):
            _run(action, cast[name], case)
        assert Case.objects.get(pk=case.pk).state == state


# --- opening -------------------------------------------------------------------------------------


def test_a_report_starts_the_acceptance_clock_and_raises_the_level(cast, tree):
    now = timezone.now()
    case = _report(cast, tree, urgency="urgent", now=now)
    assert (case.state, case.deadline_at, case.reporter_kind, case.sensitive) == (
        CaseState.REPORTED,
        now + timedelta(hours=24),
        "village",
        False,
    )
    assert ChildCare.objects.get(child=case.child).reasons == [[1, "有紧急强制报告尚未结案"]]
    normal = _report(cast, tree, now=now)
    assert normal.deadline_at == now + timedelta(hours=72)
    assert ChildCare.objects.get(child=normal.child).reasons == [[2, "有强制报告尚未结案"]]
    assert list(CaseEvent.objects.filter(case=case).values_list("action", "to_state")) == [
        ("report", "reported")
    ]


def test_a_report_about_a_child_not_yet_registered_gives_the_village_a_week(cast, tree):
    now = timezone.now()
    case = cases.case_open(
        user=cast["cadre_a"],
        village=tree[A],
        provisional_name="小明",
        provisional_note="约8岁，住村东头",
        kind="unsupervised",
        description="独自在家三天",
        now=now,
    )
    assert (case.child, case.provisional_name, case.provisional_due_on) == (
        None,
        "小明",
        timezone.localdate(now + timedelta(days=7)),
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"description": "  "}, "请写明发生了什么（时间、地点、儿童现在的处境）。"),
        ({"child": None}, "请选择已登记的儿童，或填写尚未登记儿童的姓名。"),
        ({"kind": "burglary"}, "请选择发生了什么。"),
        ({"happened_at": "future"}, "发现时间不能晚于现在。"),
        ({"who": "cadre_c"}, "您不能报告该村（社区）的儿童。"),
        ({"who": "sysadmin"}, "您不能报告该村（社区）的儿童。"),
    ],
)
def test_a_bad_report_is_refused_with_a_reason_and_nothing_written(cast, tree, changes, message):
    child = make_child(tree[A])
    data = {
        "user": cast[changes.pop("who", "cadre_a")],
        "village": tree[A],
        "child": child,
        "kind": "dropout",
        "description": "孩子已两周没去上学",
    }
    if changes.get("happened_at") == "future":
        changes["happened_at"] = timezone.now() + timedelta(hours=1)
    with pytest.raises(ValidationError) as refused:
        cases.case_open(**{**data, **changes})
    assert refused.value.messages == [message]
    assert (Case.objects.count(), CaseEvent.objects.count()) == (0, 0)


def test_a_child_recorded_without_a_guardian_gets_a_case_by_itself_once(cast, tree):
    child = make_child(tree[A])
    for _ in range(2):
        child = (
            records.record_update(
                record=child,
                user=cast["cadre_a"],
                data={
                    "guardianship_type": GuardianshipType.NONE,
                    "guardian_assessment": GuardianAssessment.NONE,
                },
                version=child.version,
            )
            if child.guardianship_type != GuardianshipType.NONE
            else records.record_update(
                record=child, user=cast["cadre_a"], data={"note": "再次核实"}, version=child.version
            )
        )
    case = Case.objects.get(child=child)
    assert (case.kind, case.urgency, case.reporter_kind, case.reported_by) == (
        "guardian_fails",
        "urgent",
        "system",
        None,
    )


# --- deadlines and escalation -------------------------------------------------------------------


def test_acceptance_is_late_the_hour_after_its_deadline_then_county_then_city(cast, tree):
    now = timezone.now()
    case = _report(cast, tree, urgency="urgent", now=now)
    assert cases.case_escalate_all(now=now + timedelta(hours=24)) == 0
    assert cases.case_escalate_all(now=now + timedelta(hours=25)) == 1
    assert Case.objects.get(pk=case.pk).escalation == 1
    assert cases.case_escalate_all(now=now + timedelta(hours=25)) == 0
    assert cases.case_escalate_all(now=now + timedelta(hours=47, minutes=59)) == 0
    assert cases.case_escalate_all(now=now + timedelta(hours=48)) == 1
    assert list(CaseEvent.objects.filter(case=case, action="escalate").values_list("note", flat=True)) == [
        "逾期（紧急报告受理），请县1民政局督办。",
        "严重逾期（紧急报告受理），请市民政局督办县1。",
    ]


def test_acceptance_starts_the_seven_day_assessment_clock_and_clears_escalation(cast, tree):
    now = timezone.now()
    case = _report(cast, tree, now=now)
    cases.case_escalate_all(now=now + timedelta(hours=73))
    accepted = cases.case_accept(user=cast["township"], case=case, now=now + timedelta(hours=80))
    assert (accepted.deadline_at, accepted.escalation) == (now + timedelta(hours=80, days=7), 0)
    planned_by = cases.case_assess(
        user=cast["township"],
        case=case,
        safety="安全",
        guardianship="祖母照料",
        health="良好",
        now=now + timedelta(days=5),
    )
    assert planned_by.deadline_at == now + timedelta(hours=80, days=15)


# --- secrecy ------------------------------------------------------------------------------------


def test_an_abuse_case_is_read_only_by_the_county_the_city_and_the_police(cast, tree, liaisons):
    case = _report(cast, tree, kind="domestic_violence")
    readers = {name for name, user in {**cast, **liaisons}.items() if policy.can_read_case(user, case)}
    assert readers == {"county", "city", "police"}
    handlers = {name for name, user in cast.items() if policy.can_handle_case(user, case)}
    assert handlers == {"county"}


def test_an_ordinary_case_is_read_by_the_care_line_and_the_police(cast, tree, liaisons):
    case = _report(cast, tree)
    readers = {name for name, user in {**cast, **liaisons}.items() if policy.can_read_case(user, case)}
    assert readers == {"cadre_a", "township", "county", "city", "police"}


# --- referrals ------------------------------------------------------------------------------------


def test_a_referral_is_answered_only_by_its_units_liaison(cast, tree, units, liaisons):
    case = _report(cast, tree)
    cases.case_accept(user=cast["township"], case=case)
    referral = cases.referral_create(
        user=cast["township"],
        child=case.child,
        case=case,
        unit=units["education"],
        need="辍学劝返",
        due_on=clock.today() + timedelta(days=10),
    )
    for who in (liaisons["health"], cast["township"], cast["county"], cast["liaison"]):
        with pytest.raises(TransitionRefused):
            cases.referral_answer(user=who, referral=referral, action="accept")
    cases.referral_answer(user=liaisons["education"], referral=referral, action="accept")
    with pytest.raises(ValidationError) as refused:
        cases.referral_answer(user=liaisons["education"], referral=referral, action="complete")
    assert refused.value.messages == ["请写明办理情况。"]
    done = cases.referral_answer(
        user=liaisons["education"], referral=referral, action="complete", answer="已劝返复学"
    )
    assert (done.state, done.answer, done.answered_by) == (
        ReferralState.DONE,
        "已劝返复学",
        liaisons["education"],
    )
    labels = list(CaseEvent.objects.filter(case=case).values_list("label", flat=True))
    assert labels == ["报告", "受理", "转介市教育局", "市教育局接收办理", "市教育局办结"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit": None}, "请选择领导小组成员单位。"),
        ({"unit": "office"}, "请选择领导小组成员单位。"),
        ({"need": " "}, "请写明需要成员单位办理的事项。"),
        ({"due_on": -1}, "办理期限应在今天至 90 天之内。"),
        ({"due_on": 91}, "办理期限应在今天至 90 天之内。"),
        ({"who": "liaison"}, "只有本村儿童主任、乡镇审核员或县级民政可以转介。"),
        ({"who": "cadre_b"}, "只有本村儿童主任、乡镇审核员或县级民政可以转介。"),
    ],
)
def test_a_bad_referral_is_refused_and_nothing_written(cast, tree, units, changes, message):
    child = make_child(tree[A])
    unit = changes.get("unit", units["education"])
    if unit == "office":
        unit = Organisation.objects.create(
            name="某村委会", kind=OrganisationKind.VILLAGE_COMMITTEE, region=tree[A]
        )
    days = changes.get("due_on", 5)
    with pytest.raises(ValidationError) as refused:
        cases.referral_create(
            user=cast[changes.get("who", "cadre_a")],
            child=child,
            unit=unit,
            need=changes.get("need", "辍学劝返"),
            due_on=clock.today() + timedelta(days=days),
        )
    assert refused.value.messages == [message]
    assert Referral.objects.count() == 0


# --- a child reported before being registered -----------------------------------------------------


def _provisional(cast, tree):
    return cases.case_open(
        user=cast["cadre_a"],
        village=tree[A],
        provisional_name="小明",
        kind="unsupervised",
        description="独自在家",
    )


def test_the_village_registers_the_reported_child_and_links_the_record(cast, tree):
    case = _provisional(cast, tree)
    child = make_child(tree[A], name="小明")
    linked = cases.case_provisional_resolve(user=cast["cadre_a"], case=case, child=child)
    assert (linked.child, CaseEvent.objects.filter(case=case).last().label) == (child, "补登并关联儿童记录")
    assert ChildCare.objects.get(child=child).reasons == [[2, "有强制报告尚未结案"]]
    with pytest.raises(ValidationError) as refused:
        cases.case_provisional_resolve(user=cast["cadre_a"], case=case, explanation="再说明")
    assert refused.value.messages == ["该个案的儿童已登记或已说明，无需再处理。"]


def test_the_village_says_why_the_child_is_not_registered_or_it_is_late(cast, tree):
    case = _provisional(cast, tree)
    late_on = case.provisional_due_on + timedelta(days=1)
    assert list(cases.late_provisional(Case.objects.all(), late_on)) == [case]
    assert list(cases.late_provisional(Case.objects.all(), case.provisional_due_on)) == []
    with pytest.raises(ValidationError) as refused:
        cases.case_provisional_resolve(user=cast["cadre_a"], case=case, explanation=" ")
    assert refused.value.messages == ["请选择已补登的儿童记录，或写明不予登记的原因。"]
    resolved = cases.case_provisional_resolve(
        user=cast["township"], case=case, explanation="非本村儿童，已转告其户籍地"
    )
    assert (resolved.child, resolved.provisional_resolution) == (None, "非本村儿童，已转告其户籍地")
    assert list(cases.late_provisional(Case.objects.all(), late_on)) == []


@pytest.mark.parametrize("who", ["cadre_b", "cadre_c", "county", "liaison"])
def test_only_the_village_or_its_township_resolves_a_provisional_report(cast, tree, who):
    case = _provisional(cast, tree)
    with pytest.raises(ValidationError) as refused:
        cases.case_provisional_resolve(user=cast[who], case=case, explanation="非本村儿童")
    assert refused.value.messages == ["只有本村儿童主任或乡镇审核员可以补登或说明。"]


def test_a_child_of_another_village_cannot_be_linked(cast, tree):
    case = _provisional(cast, tree)
    other = make_child(tree["410922100202"])
    with pytest.raises(ValidationError) as refused:
        cases.case_provisional_resolve(user=cast["township"], case=case, child=other)
    assert refused.value.messages == ["所选儿童不在报告所在的村（社区）登记。"]
    assert Case.objects.get(pk=case.pk).child is None
