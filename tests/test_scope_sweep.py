"""Scope sweep (issue 6 §5): every URL pattern × every role and an anonymous visitor × objects in
and out of the role's scope × GET and POST.

Data-driven: the patterns come from the project's resolver. A pattern without path parameters
is swept as it is; one with parameters must say in ``PARAMS`` what they name, and the sweep
fails, listing it, until it does — so a new view is covered the day it is added.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO

import pytest
from django.db import models
from django.http import QueryDict
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from openpyxl import Workbook, load_workbook

from accounts.models import Role
from registry import records
from registry.choices import Category
from registry.export import XLSX
from registry.models import Child, Elder, ImportJob, Woman
from survey import services, supervision
from survey.models import Campaign, Inspection, Rectification, SpotCheck, VillageReturn
from survey.views import RETURN_ACTIONS
from survey.views_supervision import ITEM_ACTIONS
from tests.factories import UserFactory, form_data, make_child, make_elder, make_woman, region_tree

# --- what the URL parameters name ------------------------------------------------------------

# Patterns anyone may open without logging in.
PUBLIC = {"login", "logout"}
# URL name → {path parameter: what fills it}. Object kinds are built in ``world`` below.
PARAMS = {
    "region_detail": {"code": "region"},
    "record_detail": {"pk": "record"},
    "record_edit": {"pk": "record"},
    "record_status": {"pk": "record"},
    "record_history": {"pk": "record"},
    "campaign_start": {"pk": "campaign"},
    "campaign_close": {"pk": "campaign"},
    "survey_progress": {"pk": "campaign"},
    "survey_progress_region": {"pk": "campaign", "code": "region"},
    "survey_sign_off": {"pk": "campaign", "code": "region"},
    "survey_statistics": {"pk": "campaign", "code": "region"},
    "survey_duplicates": {"pk": "campaign", "code": "region"},
    "survey_return": {"pk": "return"},
    "survey_return_action": {"pk": "return", "action": "return_action"},
    "inspection_detail": {"pk": "inspection"},
    "inspection_sample": {"pk": "inspection"},
    "rectification_add": {"pk": "inspection"},
    "spot_check": {"pk": "spot_check"},
    "rectification_action": {"pk": "rectification", "action": "item_action"},
    "import_job": {"pk": "import_job"},
    "import_job_progress": {"pk": "import_job"},
    "import_job_confirm": {"pk": "import_job"},
    "import_job_rerun": {"pk": "import_job"},
    "import_job_discard": {"pk": "import_job"},
    "import_job_invalid_rows": {"pk": "import_job"},
}
# Parameters that choose what to do, not whose object: every value is swept.
CHOICES = {"return_action": sorted(RETURN_ACTIONS), "item_action": sorted(ITEM_ACTIONS)}
SKIPPED_PREFIXES = ("admin/", "static/")

# The standing cast's scope (tests/conftest.py) as region-code prefixes, written out rather than
# asked of accounts.policy: the sweep checks the policy, it does not trust it.
RECORD_SCOPE = {
    "cadre_a": ["410922100201"],
    "cadre_b": ["410922100202"],
    "cadre_c": ["410923100201"],
    "township": ["410922100"],
    "county": ["410922"],
    "city": ["4109"],
    "supervisor": ["410923"],
    "liaison": ["4109"],
    "sysadmin": [],  # manages accounts and regions, reads no personal records
    "secadmin": [],  # grants roles (三权分立), reads no personal records
    "auditor": [],  # reads the audit log only: no personal records, no regions
}
REGION_SCOPE = {**RECORD_SCOPE, "sysadmin": [""]}
ROLES = list(RECORD_SCOPE)
VILLAGES = {"A": "410922100201", "B": "410922100202", "C": "410923100201", "X": "410203100201"}
RECORD_KINDS = {"children": Child, "women": Woman, "elders": Elder}
XSS = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str
    params: tuple
    defaults: dict

    def url(self, values):
        return reverse(self.name, kwargs={**values, **self.defaults})


def project_patterns():
    """Every named URL pattern of the project (but the admin and static files), with its route,
    path parameters and the default kwargs its includes pass (``kind`` of the registers)."""

    def walk(resolver, prefix, defaults):
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            converters = tuple(entry.pattern.converters)
            if isinstance(entry, URLResolver):
                yield from (
                    Pattern(p.route, p.name, converters + p.params, p.defaults)
                    for p in walk(entry, route, {**defaults, **entry.default_kwargs})
                )
            else:
                yield Pattern(route, entry.name, converters, {**defaults, **entry.default_args})

    return list(walk(get_resolver(), "", {}))


def unknown_patterns():
    unknown = []
    for p in project_patterns():
        if p.name is None:
            unknown.append(f"{p.route} (unnamed)")
        elif p.params and set(PARAMS.get(p.name, {})) != set(p.params):
            unknown.append(f"{p.route} ({p.name}: parameters {', '.join(p.params)})")
    return unknown


# --- the world: objects in every corner of two cities ------------------------------------------


def overlaps(prefix, scope):
    return any(prefix.startswith(s) or s.startswith(prefix) for s in scope)


@pytest.fixture
def cast(cast):
    """The standing cast and the other two administrators of 三权分立."""
    return {
        **cast,
        "secadmin": UserFactory(username="secadmin", role=Role.SECURITY_ADMIN, region=None, is_staff=True),
        "auditor": UserFactory(username="auditor", role=Role.AUDIT_ADMIN, region=None, is_staff=True),
    }


@pytest.fixture
def world(cast, tree):
    """Records, returns, campaigns, inspections, spot checks and items in villages A and B
    (county 1), C (county 2) and X (another city), each with the code prefix that scopes it."""
    other = region_tree(city="410200", counties=("410203",))
    city_x = UserFactory(username="city_x", role=Role.CITY_OFFICE, region=other["4102"])
    regions = {**tree, **other}
    objects = {"region": [], "record": {kind: [] for kind in RECORD_KINDS}, "campaign": [], "return": []}
    objects.update({"inspection": [], "spot_check": [], "rectification": []})
    for key in ("410922100201", "410922100202", "410923100201", "410922100", "410922", "410923", "4109"):
        objects["region"].append((regions[key].prefix, regions[key].code))
    for key in ("410203100201", "4102"):
        objects["region"].append((regions[key].prefix, regions[key].code))
    for code in VILLAGES.values():
        for kind, make in (("children", make_child), ("women", make_woman), ("elders", make_elder)):
            record = make(regions[code])
            objects["record"][kind].append((record.village_code, record.pk))
    for city, user in ((tree["4109"], cast["city"]), (other["4102"], city_x)):
        campaign = services.campaign_create(
            user=user,
            name=f"{city.name}摸底排查",
            region=city,
            reference_date=date(2022, 7, 31),
            start_date=date(2022, 8, 1),
            deadline=timezone.localdate() + timedelta(days=10),
            categories=list(Category),
        )
        services.campaign_start(user=user, campaign=campaign)
        objects["campaign"].append((city.prefix, campaign.pk))
    for ret in VillageReturn.objects.filter(village__code__in=VILLAGES.values()):
        objects["return"].append((ret.village_code, ret.pk))
    for county, user in (
        (tree["410922"], cast["city"]),
        (tree["410923"], cast["supervisor"]),
        (other["410203"], city_x),
    ):
        inspection = supervision.inspection_create(
            user=user, county=county, date=date(2022, 9, 10), team="督导组"
        )
        supervision.inspection_draw_sample(user=user, inspection=inspection, size=2, seed="1")
        item = supervision.rectification_create(
            user=user,
            inspection=inspection,
            description="整改",
            responsible_unit="民政局",
            deadline=date(2022, 10, 1),
        )
        objects["inspection"].append((county.prefix, inspection.pk))
        objects["spot_check"].extend((county.prefix, c.pk) for c in inspection.checks.all())
        objects["rectification"].append((county.prefix, item.pk))
    # An import job is its owner's alone; filed under the owner's region, so every role outside
    # it must get a 404 (tests/test_roster_upload.py checks the city office too).
    objects["import_job"] = []
    book = Workbook()
    book.active.append(["原行号", "错误原因"])
    invalid_rows = BytesIO()
    book.save(invalid_rows)
    for owner in (cast["county"], city_x):
        job = ImportJob.objects.create(
            owner=owner, category=Category.CHILD, file_name="花名册.xlsx", rows=1,
            state=ImportJob.State.DONE, finished_at=timezone.now(), invalid_rows=invalid_rows.getvalue(),
        )  # fmt: skip
        objects["import_job"].append((owner.region.prefix, job.pk))
    return objects


def _candidates(world, pattern, kind):
    if kind == "record":
        return world["record"][pattern.defaults["kind"]]
    return world[kind]


def fills(world, pattern, role):
    """(in scope, out of scope) parameter values of ``pattern`` for ``role``: every combination of
    objects in scope that varies one of them, and every combination with one object out."""
    scopes = {"region": REGION_SCOPE[role]}
    params = PARAMS.get(pattern.name, {})
    inside, outside, fixed = {}, {}, []
    for name, kind in params.items():
        if kind in CHOICES:
            fixed.append((name, CHOICES[kind]))
            continue
        scope = scopes.get(kind, RECORD_SCOPE[role])
        candidates = _candidates(world, pattern, kind)
        inside[name] = [value for prefix, value in candidates if overlaps(prefix, scope)]
        outside[name] = [value for prefix, value in candidates if not overlaps(prefix, scope)]
        assert candidates, f"the world holds no {kind} for {pattern.name}"

    def with_choices(combo):
        combos = [combo]
        for name, values in fixed:
            combos = [{**c, name: v} for c in combos for v in values]
        return combos

    base = {name: (inside[name] or outside[name])[0] for name in inside}
    in_scope = []
    if all(inside.values()):
        for name, values in inside.items() or {None: [None]}.items():
            for value in values:
                in_scope.extend(with_choices({**base, name: value} if name else base))
    out_scope = []
    for name, values in outside.items():
        for value in values:
            out_scope.extend(with_choices({**base, name: value}))
    return in_scope, out_scope


def allowed_methods(client, url):
    """The methods a view accepts, from the Allow header of its 405 to DELETE (no view takes DELETE).

    A view that looks at the user first (the login page sends a logged-in user home, the
    password page an anonymous one to login) is asked again by an anonymous client.
    """
    response = client.delete(url)
    if response.status_code != 405:
        response = Client().delete(url)
    assert response.status_code == 405, url
    return {m.strip() for m in response["Allow"].split(",")} & {"GET", "POST"}


@pytest.fixture
def probe(cast):
    """A client to ask views which methods they take (``allowed_methods``)."""
    return _client(cast, "city")


def _client(cast, role, **kwargs):
    client = Client(**kwargs)
    client.force_login(cast[role])
    return client


def _state():
    """What a refused request must not change."""
    return [
        sorted((m.pk, m.version, m.status, m.village_code) for m in model.objects.all())
        for model in RECORD_KINDS.values()
    ] + [
        sorted(Campaign.objects.values_list("pk", "status")),
        sorted(VillageReturn.objects.values_list("pk", "state")),
        sorted(Inspection.objects.values_list("pk", "sample_seed", "sample_size")),
        sorted(SpotCheck.objects.values_list("pk", "verdict")),
        sorted(Rectification.objects.values_list("pk", "status", "description")),
    ]


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


# --- the sweep ----------------------------------------------------------------------------------


def test_sweep_knows_every_url_pattern():
    assert unknown_patterns() == [], (
        "URL patterns the scope sweep cannot fill: add them to PARAMS in tests/test_scope_sweep.py"
    )
    names = {p.name for p in project_patterns()}
    assert set(PARAMS) - names == set(), "PARAMS names patterns that no longer exist"


def _login_redirect(url):
    query = QueryDict(mutable=True)
    query["next"] = url
    return f"{reverse('login')}?{query.urlencode(safe='/')}"


def test_anonymous_is_sent_to_login(client, probe, world):
    checked = 0
    for pattern in project_patterns():
        in_scope, out_scope = fills(world, pattern, "city")
        for values in (in_scope + out_scope)[:3] or [{}]:
            url = pattern.url(values)
            methods = allowed_methods(probe, url)
            for method in sorted(methods):
                response = getattr(client, method.lower())(url)
                if pattern.name == "login":
                    assert response.status_code == 200
                elif pattern.name == "logout":
                    assert (response.status_code, response["Location"]) == (302, reverse("login"))
                else:
                    assert (response.status_code, response["Location"]) == (302, _login_redirect(url)), url
                checked += 1
    assert checked > len(project_patterns())


@pytest.mark.parametrize("role", ROLES)
def test_wrong_method_is_405(cast, world, probe, role):
    client = _client(cast, role)
    for pattern in project_patterns():
        in_scope, out_scope = fills(world, pattern, role)
        url = pattern.url((in_scope + out_scope + [{}])[0])
        methods = allowed_methods(probe, url)
        assert methods, f"{pattern.name} accepts neither GET nor POST"
        for method in {"GET", "POST"} - methods:
            assert getattr(client, method.lower())(url).status_code == 405, (method, url)


@pytest.mark.parametrize("role", ROLES)
def test_out_of_scope_objects_are_404_and_untouched(cast, world, probe, role):
    client = _client(cast, role)
    before = _state()
    swept = 0
    for pattern in project_patterns():
        _, out_scope = fills(world, pattern, role)
        for values in out_scope:
            url = pattern.url(values)
            for method in sorted(allowed_methods(probe, url)):
                response = getattr(client, method.lower())(url, {"reason": "越权", "evidence": "越权"})
                assert response.status_code == 404, (method, url)
                swept += 1
    assert _state() == before
    assert swept > 0


def test_in_scope_objects_reach_the_view_for_someone(cast, world, probe):
    """Guards the sweep itself: each pattern answers something other than 404 to a role in scope,
    so the 404s above are about scope, not about a filler that names nothing."""
    reached = {p.name for p in project_patterns() if not PARAMS.get(p.name)}
    for role in ROLES:
        client = _client(cast, role)
        for pattern in project_patterns():
            in_scope, _ = fills(world, pattern, role)
            for values in in_scope:
                if pattern.name in reached:
                    break
                url = pattern.url(values)
                method = "get" if "GET" in allowed_methods(probe, url) else "post"
                status = getattr(client, method)(url, {}).status_code
                assert status < 500
                if status != 404:
                    reached.add(pattern.name)
    assert {p.name for p in project_patterns()} - reached == set()


def _personal_values(record):
    return {
        str(getattr(record, f.name))
        for f in record._meta.concrete_fields
        if isinstance(f, models.CharField)
        and f.name.endswith(("name", "id_number", "phone"))
        and getattr(record, f.name)
    }


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_personal_data_out_of_scope(cast, world, probe, role):
    """No response body of a role holds a name, ID or phone number of a record outside its scope
    (a village cadre sees nothing of the neighbouring village), even when searched for."""
    own, foreign = set(), set()
    for model in RECORD_KINDS.values():
        for record in model.objects.all():
            inside = overlaps(record.village_code, RECORD_SCOPE[role])
            (own if inside else foreign).update(_personal_values(record))
    secrets = foreign - own
    assert secrets
    client = _client(cast, role)
    for pattern in project_patterns():
        in_scope, out_scope = fills(world, pattern, role)
        for values in in_scope + out_scope or [{}]:
            url = pattern.url(values)
            # xlsx downloads without personal data: the 统计表 (counts) and the empty roster template.
            if "GET" not in allowed_methods(probe, url) or pattern.name in (
                "survey_statistics",
                "record_template",
            ):
                continue
            queries = [{}]
            if pattern.name in ("record_list", "record_export"):
                queries += [{"q": secret} for secret in sorted(secrets)] + [{"status": "exited"}]
            for query in queries:
                response = client.get(url, query, follow=True)
                body = _text(response)
                typed = query.get("q")  # the search box shows what was typed
                assert [s for s in secrets - {typed} if s in body] == [], (url, query)
                if typed and response.status_code == 200 and pattern.name == "record_list":
                    assert list(response.context["page"].object_list) == [], (url, query)
                if typed and response.status_code == 200 and pattern.name == "record_export":
                    assert body.count("\n") == 0, (url, query)  # the header row only


def _text(response):
    """What a response shows: a page's HTML, or an xlsx download's cells (a row a line)."""
    if response.get("Content-Type") != XLSX:
        return response.content.decode()
    workbook = load_workbook(BytesIO(b"".join(response.streaming_content)), read_only=True)
    return "\n".join(
        "\t".join("" if value is None else str(value) for value in row)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
    )


@pytest.mark.parametrize("role", [*ROLES, None])
def test_post_without_csrf_token_is_403(cast, world, probe, role):
    client = _client(cast, role, enforce_csrf_checks=True) if role else Client(enforce_csrf_checks=True)
    before = _state()
    posted = 0
    for pattern in project_patterns():
        in_scope, out_scope = fills(world, pattern, role or "city")
        for values in (in_scope + out_scope)[:2] or [{}]:
            url = pattern.url(values)
            if "POST" in allowed_methods(probe, url):
                assert client.post(url, {"reason": "x"}).status_code == 403, url
                posted += 1
    assert _state() == before
    assert posted > 10


# --- hidden fields and typed-in payloads ------------------------------------------------------


def test_a_changed_village_field_never_reaches_another_village(client, cast, world):
    client.force_login(cast["cadre_a"])
    record = Child.objects.get(village_code=VILLAGES["A"])
    c_village = Child.objects.get(village_code=VILLAGES["C"]).village
    edit = reverse("record_edit", kwargs={"kind": "children", "pk": record.pk})
    response = client.post(edit, form_data(record, cast["cadre_a"], village=c_village.pk))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["village"]
    record.refresh_from_db()
    assert record.village_code == VILLAGES["A"]
    count = Child.objects.count()
    new = reverse("record_create", kwargs={"kind": "children"})
    response = client.post(new, form_data(record, cast["cadre_a"], village=c_village.pk, id_number=""))
    assert response.status_code == 200
    assert Child.objects.count() == count


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_xss_payload_in_every_text_field_comes_back_escaped(client, cast, tree, kind):
    model = RECORD_KINDS[kind]
    text_fields = [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
        and f.editable
        and not f.choices
        and not f.name.endswith(("id_number", "phone", "code"))
        and f.name not in {"exit_note", "ethnicity"}
    ]
    assert "name" in text_fields
    assert "note" in text_fields
    make = {"children": make_child, "women": make_woman, "elders": make_elder}[kind]
    record = make(
        tree[VILLAGES["A"]], **{name: XSS[: model._meta.get_field(name).max_length] for name in text_fields}
    )
    user = cast["cadre_a"]
    record = records.record_update(
        record=record, user=user, data={"note": XSS + "改"}, version=record.version
    )
    client.force_login(user)
    pages = [
        reverse("record_list", kwargs={"kind": kind}),
        reverse("record_list", kwargs={"kind": kind}) + "?q=" + XSS,
        reverse("record_detail", kwargs={"kind": kind, "pk": record.pk}),
        reverse("record_edit", kwargs={"kind": kind, "pk": record.pk}),
        reverse("record_status", kwargs={"kind": kind, "pk": record.pk}),
        reverse("record_history", kwargs={"kind": kind, "pk": record.pk}),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        assert ("<script>alert" in body, escape(XSS)[:20] in body) == (False, True), url
