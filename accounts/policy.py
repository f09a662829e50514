"""The one access policy: who may see and do what, where.

Every view, queryset, template and service asks these functions; nothing else decides.
Scope is a list of region-code prefixes (DESIGN §3): a user sees a record when its village
code starts with one of them. Plain predicates with names a reader understands; outside a
user's scope the views answer 404, never a 403 that confirms a record exists.
"""

from django.db.models import Q

from accounts.models import ADMIN_ROLES, Role, User
from registry.choices import RecordStatus
from registry.codes import prefix_range

# Roles that read children's, women's and elders' records (a liaison reads them masked).
RECORD_READERS = {
    Role.VILLAGE_CADRE,
    Role.TOWNSHIP_REVIEWER,
    Role.COUNTY_OFFICER,
    Role.CITY_OFFICE,
    Role.SUPERVISOR,
    Role.LIAISON,
}
# Roles that enter and correct records, each inside their own region.
RECORD_EDITORS = {Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_OFFICER}


def _active(user):
    return bool(user and user.is_authenticated and user.is_active)


def has_role(user, *roles):
    return _active(user) and user.role in roles


def prefixes_q(prefixes, field):
    """A Q matching rows whose 12-digit ``field`` starts with one of ``prefixes``; none matches nothing."""
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{field}__range": prefix_range(prefix)})
    return q


def scope_prefixes(user):
    """The code prefixes of the regions a user's role is bound to."""
    if not _active(user) or not user.role or user.role in ADMIN_ROLES:
        return []
    if user.role == Role.SUPERVISOR:
        assigned = [region.prefix for region in user.assigned_regions.all()]
        if assigned:
            return assigned
    return [user.region.prefix] if user.region_id else []


def region_prefixes(user):
    """Prefixes of the regions a user may look at. A system administrator manages the whole tree."""
    if is_system_admin(user):
        return [""]
    return scope_prefixes(user)


def record_prefixes(user):
    """Prefixes of the records of personal data a user may read. Administrators read none."""
    if not has_role(user, *RECORD_READERS):
        return []
    return scope_prefixes(user)


def edit_prefixes(user):
    """Prefixes of the villages where a user may create and correct records."""
    if not has_role(user, *RECORD_EDITORS):
        return []
    return scope_prefixes(user)


def in_scope(user, code):
    return any(code.startswith(prefix) for prefix in scope_prefixes(user))


# --- predicates -----------------------------------------------------------------------


def is_system_admin(user):
    """系统管理员: accounts (create, deactivate, reset passwords), organisations and regions."""
    return _active(user) and (user.role == Role.SYSADMIN or user.is_superuser)


def is_security_admin(user):
    """安全管理员: grants roles, regions and organisations to accounts; nothing else."""
    return has_role(user, Role.SECURITY_ADMIN)


def is_audit_admin(user):
    """审计管理员: reads, searches and exports the audit log; nothing else."""
    return has_role(user, Role.AUDIT_ADMIN)


def can_see_region(user, region):
    return any(region.code.startswith(prefix) for prefix in region_prefixes(user))


def can_read_records(user, region):
    """May read the records of ``region`` (masked for a liaison: see ``sees_masked_records``)."""
    return has_role(user, *RECORD_READERS) and in_scope(user, region.code)


def sees_masked_records(user):
    """A member-unit liaison sees ID and phone numbers masked, server-side."""
    return has_role(user, Role.LIAISON)


def can_edit_records(user, region):
    """May create and correct records in ``region`` (a village, or any region below one's scope)."""
    return has_role(user, *RECORD_EDITORS) and in_scope(user, region.code)


def bound_by_record_locks(user):
    """Does an approved return lock records against ``user``? Its village's cadre only; never the
    reviewers and officers above, who correct and reopen."""
    return has_role(user, Role.VILLAGE_CADRE)


def records_locked_against(user, village):
    """Are ``village``'s records locked against ``user``? While the village's return of the running
    campaign is approved (Region.records_locked, kept by survey's services), until it is reopened."""
    return bound_by_record_locks(user) and village.records_locked


def can_edit_record(user, record):
    """May change ``record`` (edit it, take it out of the registry or bring it back): an editor of
    its village whose records are not locked against them. The one answer for the view before it
    renders a form, the service before it writes, the import, and the templates."""
    return can_edit_records(user, record.village) and not records_locked_against(user, record.village)


def can_enter_records(user, village):
    """May register new records in ``village`` (as ``can_edit_record``, for a record not yet there)."""
    return can_edit_records(user, village) and not records_locked_against(user, village)


def can_view_statistics(user, region):
    return has_role(user, *RECORD_READERS) and in_scope(user, region.code)


def import_prefixes(user):
    """Prefixes of the villages a roster import by ``user`` may write to (county and city officers)."""
    if not has_role(user, Role.COUNTY_OFFICER, Role.CITY_OFFICE):
        return []
    return scope_prefixes(user)


def can_import_rosters(user, region):
    """May import rosters into ``region`` (see ``import_prefixes``)."""
    return any(region.code.startswith(prefix) for prefix in import_prefixes(user))


def can_read_import_job(user, job):
    """May open ``job`` and everything derived from it (progress, confirm, re-run, discard, the
    invalid rows): its owner, while the region it was uploaded for is still inside the owner's
    current import scope. An officer moved to another county loses the old county's jobs."""
    return _active(user) and job.owner_id == user.pk and can_import_rosters(user, job.region)


def can_run_campaigns(user):
    return has_role(user, Role.CITY_OFFICE)


def is_village_cadre_of(user, village):
    return has_role(user, Role.VILLAGE_CADRE) and in_scope(user, village.code)


def village_has_cadre(village):
    """Has ``village`` an active cadre account of its own (one indexed query)?"""
    return User.objects.filter(role=Role.VILLAGE_CADRE, region_id=village.pk, is_active=True).exists()


def can_submit_return(user, village):
    """May fill in and submit ``village``'s return: its own cadre; or, while the village has no cadre
    account, its township's reviewer on the village's behalf (乡镇代报, recorded as such)."""
    if is_village_cadre_of(user, village):
        return True
    return (
        has_role(user, Role.TOWNSHIP_REVIEWER)
        and in_scope(user, village.code)
        and not village_has_cadre(village)
    )


def can_review_villages(user, township):
    """May approve or return the village returns of ``township``."""
    return has_role(user, Role.TOWNSHIP_REVIEWER) and in_scope(user, township.code)


def can_approve_townships(user, county):
    return has_role(user, Role.COUNTY_OFFICER) and in_scope(user, county.code)


def can_inspect(user, county):
    """May inspect and spot-check ``county`` (supervision group, or the city office leading it)."""
    return has_role(user, Role.SUPERVISOR, Role.CITY_OFFICE) and in_scope(user, county.code)


def can_follow_supervision(user):
    """May see inspections and rectification items of their scope (county, city, supervision group)."""
    return has_role(user, Role.COUNTY_OFFICER, Role.CITY_OFFICE, Role.SUPERVISOR)


# --- care (DESIGN §7): levels and visits ------------------------------------------------------
# Who follows the children's care: the civil-affairs line from village to city, and the
# supervision group. A liaison sees only what is referred to their unit (not levels or visits).
CARE_READERS = {
    Role.VILLAGE_CADRE,
    Role.TOWNSHIP_REVIEWER,
    Role.COUNTY_OFFICER,
    Role.CITY_OFFICE,
    Role.SUPERVISOR,
}


def care_prefixes(user):
    """Prefixes of the children whose risk level and visits ``user`` may follow."""
    if not has_role(user, *CARE_READERS):
        return []
    return scope_prefixes(user)


def can_follow_care(user, region):
    """May see the care boards and lists of ``region`` (levels, visits due and overdue)."""
    return has_role(user, *CARE_READERS) and in_scope(user, region.code)


def can_record_visit(user, child):
    """May record (and correct) a home visit to ``child``: the village's cadre (儿童主任) or the
    township's reviewer (儿童督导员), while the child is in the register. Not locked by an approved
    return: visits are care, not the campaign's figures."""
    return (
        has_role(user, Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER)
        and in_scope(user, child.village_code)
        and child.status == RecordStatus.ACTIVE
    )


def can_override_level(user, child):
    """May raise or lower ``child``'s risk level with a written reason: the township's reviewer."""
    return (
        has_role(user, Role.TOWNSHIP_REVIEWER)
        and in_scope(user, child.village_code)
        and child.status == RecordStatus.ACTIVE
    )


def can_edit_risk_levels(user):
    """May edit the risk levels' names and visit intervals (care.RiskLevel): the system administrator."""
    return is_system_admin(user)


# --- care: reports, cases and referrals (DESIGN §7) -----------------------------------------------
POLICE_UNIT = "police"  # Organisation.code of the 公安 member unit


def is_police_liaison(user):
    """The 公安 member unit's liaison: sees every case of the city, abuse cases included."""
    return (
        has_role(user, Role.LIAISON) and bool(user.organisation_id) and user.organisation.code == POLICE_UNIT
    )


def can_open_report(user, village):
    """May report a child in danger in ``village`` (强制报告): everyone who works with children there —
    the civil-affairs line, the city office, the member units' liaisons (schools, hospitals …) and
    the hotline's operators."""
    return has_role(user, *CARE_READERS, Role.LIAISON, Role.HOTLINE_OPERATOR) and in_scope(user, village.code)


def can_take_calls(user):
    """May log hotline calls, match them to a registered child and turn them into reports."""
    return has_role(user, Role.HOTLINE_OPERATOR)


def can_manage_care_workers(user, region):
    """May name ``region``'s child director (a village: its township's reviewer or the county) or child
    supervisor (a township: the county's civil affairs)."""
    if region.level == "village":
        return has_role(user, Role.TOWNSHIP_REVIEWER, Role.COUNTY_OFFICER) and in_scope(user, region.code)
    return region.level == "township" and has_role(user, Role.COUNTY_OFFICER) and in_scope(user, region.code)


def can_keep_diary(user, township):
    """May write ``township``'s monthly 督导日志: its reviewer (the township's 儿童督导员 signs in as one)."""
    return has_role(user, Role.TOWNSHIP_REVIEWER) and in_scope(user, township.code)


def case_prefixes(user):
    """Prefixes of the cases whose existence ``user`` may see (not always their content)."""
    if is_police_liaison(user):
        return scope_prefixes(user)
    return care_prefixes(user)


def can_read_case(user, case):
    """May read what a case says. An abuse case (``case.sensitive``): county civil affairs of its
    county, the city office and the 公安 liaison only; any other case: whoever follows the child's
    care there, and the 公安 liaison. Everyone else in scope sees only that an open case exists."""
    if is_police_liaison(user):
        return in_scope(user, case.village_code)
    if case.sensitive:
        return has_role(user, Role.COUNTY_OFFICER, Role.CITY_OFFICE) and in_scope(user, case.village_code)
    return has_role(user, *CARE_READERS) and in_scope(user, case.village_code)


def can_handle_case(user, case):
    """May accept, dispose, assess, plan and propose closing ``case``: the township's reviewer or the
    county's civil affairs — for an abuse case, the county only (the township does not read it)."""
    return (
        has_role(user, Role.TOWNSHIP_REVIEWER, Role.COUNTY_OFFICER)
        and in_scope(user, case.village_code)
        and can_read_case(user, case)
    )


def can_resolve_provisional(user, case):
    """May register the child a case names provisionally (linking the record) or say why not: the
    village's cadre or the township's reviewer, where they may read the case."""
    return (
        has_role(user, Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER)
        and in_scope(user, case.village_code)
        and can_read_case(user, case)
    )


def can_approve_case_closing(user, case):
    """May close ``case`` (or send it back to 帮扶): the county's civil affairs."""
    return has_role(user, Role.COUNTY_OFFICER) and in_scope(user, case.village_code)


def can_refer(user, child):
    """May refer a need of ``child`` to a member unit (转介): the village's child director, the
    township's reviewer, the county's civil affairs."""
    return has_role(user, Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_OFFICER) and in_scope(
        user, child.village_code
    )


def can_answer_referral(user, referral):
    """May accept, decline and complete ``referral``: the liaison of the unit it is addressed to."""
    return has_role(user, Role.LIAISON) and user.organisation_id == referral.unit_id


def can_manage_accounts(user):
    return is_system_admin(user)


def can_manage_regions(user):
    return is_system_admin(user)


# --- separation of duties (三权分立) -------------------------------------------------------
# The three administrators each hold one duty; none reads personal records (record_prefixes is
# empty for them). A superuser without a role is the installation's break-glass account.


def can_use_admin(user):
    """May open the admin site (each administrator sees only the models of their duty)."""
    return has_role(user, *ADMIN_ROLES) or (_active(user) and user.is_superuser)


def can_assign_roles(user):
    """May set an account's role, region, assigned counties, organisation and whether it is active."""
    return is_security_admin(user) or (_active(user) and user.is_superuser)


def can_release_lockouts(user):
    """May see failed logins and release lock-outs (accounts/lockouts.py): the security administrator."""
    return is_security_admin(user) or (_active(user) and user.is_superuser)


def can_read_audit_log(user):
    """May read, search and export the audit log: the audit administrator only."""
    return is_audit_admin(user)


def can_manage_account(user, account):
    """May edit ``account``'s name, contact details and activity, and ask for its activation code
    (the system administrator). Nobody sets another person's password (accounts/activation.py).

    Not the accounts of the administrators (the sysadmin could otherwise take over the security or
    audit administrator's duty), nor a superuser's; one's own, yes.
    """
    if _active(user) and user.is_superuser:
        return True
    if not has_role(user, Role.SYSADMIN):
        return False
    if account.pk == user.pk:
        return True
    return account.role not in ADMIN_ROLES and not account.is_superuser


def superuser_role_refusal(is_superuser, role):
    """Why a superuser may not hold ``role`` (三权分立: nobody holds two duties), or None."""
    if is_superuser and role:
        return "超级管理员账号不能再担任角色（一人不能兼任两种管理职责）。"
    return None


def role_change_refusal(user, account, role):
    """Why ``user`` may not give ``account`` the role ``role`` (a sentence), or None if they may."""
    if not can_assign_roles(user):
        return "只有安全管理员可以分配角色。"
    if role == account.role:
        return None
    if account.pk is not None and account.pk == user.pk:
        return "不能更改自己的角色。"
    if superuser_role_refusal(account.is_superuser, role):
        return superuser_role_refusal(account.is_superuser, role)
    if account.role in ADMIN_ROLES and role in ADMIN_ROLES:
        return (
            f"该账号已担任{Role(account.role).label}，不能改任{Role(role).label}："
            "一人不能兼任两种管理员职责，请另建账号。"
        )
    return None


# --- activation codes (accounts/activation.py): two people, never one ---------------------------


def can_see_activations(user):
    """May list activation codes asked for and awaiting confirmation (system and security administrators)."""
    return is_system_admin(user) or is_security_admin(user)


def can_request_activation(user, account):
    """May ask for an activation code for ``account`` (a new account, or a reset): the system
    administrator, for an account they manage that is not their own (their own: 修改密码)."""
    return account.pk != user.pk and can_manage_account(user, account)


def can_confirm_activation(user, activation):
    """May confirm ``activation`` as the second person: a security administrator (or the
    break-glass superuser) who neither asked for it nor owns the account."""
    if not (is_security_admin(user) or (_active(user) and user.is_superuser)):
        return False
    return user.pk not in (activation.requested_by_id, activation.user_id)


def can_cancel_activation(user, activation):
    """May withdraw ``activation``: whoever may confirm it, or the administrator who asked for it."""
    if can_confirm_activation(user, activation):
        return True
    return user.pk == activation.requested_by_id and is_system_admin(user)
