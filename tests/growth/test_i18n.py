"""The Simplified Chinese UI: the catalogue is complete and compiled, its translations keep
every placeholder, the user's language (or the browser's) is the one served, and numbers and
dates follow it."""

# Chinese text uses fullwidth commas, colons and brackets on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from analytics.dashboards import format as fmt
from growth.roles import Role

BASE = Path(settings.BASE_DIR)
MESSAGES = BASE / "locale" / "zh_Hans" / "LC_MESSAGES"
# The same as `make messages` (Makefile: MESSAGES_ARGS).
IGNORE = [".venv", "bench", "tests", "static/vendor", "staticfiles", "build"]
NOT_SOURCE = {"locale", ".venv", ".git", ".growth-data", "staticfiles", "build", "bench", "tests"}
# %(name)s and friends, %s, %%, plotly's %{y}, {code} and {{ var }}, HTML tags.
PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-+ #0]*\d*(?:\.\d+)?[sdfr]|%[sd]|%%|%\{[^}]*\}|\{\{[^}]*\}\}"
    r"|(?<!\{)\{[^{}]*\}(?!\})|</?[a-zA-Z][^>]*>"
)


@pytest.fixture(autouse=True)
def _default_language_afterwards() -> Iterator[None]:
    """A request leaves its language active in the thread (LocaleMiddleware never switches
    back): later tests that call services directly must not read Chinese."""
    yield
    translation.deactivate()


def key(entry: polib.POEntry | polib.MOEntry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


def translation_of(entry: polib.POEntry | polib.MOEntry) -> str:
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def catalogue(domain: str = "django") -> polib.POFile:
    return polib.pofile(str(MESSAGES / f"{domain}.po"))


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


# --- The catalogue ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    """makemessages over the sources as they are now, into a scratch folder. The sources are
    symlinked in: makemessages run in the repository writes into its `locale/`."""
    root = tmp_path_factory.mktemp("sources")
    for item in BASE.iterdir():
        if item.name not in NOT_SOURCE and not item.name.endswith(".egg-info"):
            (root / item.name).symlink_to(item)
    (root / "locale").mkdir()
    previous = Path.cwd()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setattr(settings, "LOCALE_PATHS", [str(root / "locale")])
        try:
            call_command(
                "makemessages",
                locale=["zh_Hans"],
                ignore_patterns=IGNORE,
                symlinks=True,
                no_obsolete=True,
                verbosity=0,
            )
        finally:
            patch.chdir(previous)
    return polib.pofile(str(root / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_ui_string_has_a_chinese_translation(extracted: polib.POFile) -> None:
    assert len(extracted) > 2000  # the extraction found the sources
    committed = {key(e): e for e in catalogue() if not e.obsolete}
    missing = [e.msgid for e in extracted if key(e) not in committed]
    untranslated = [
        e.msgid
        for e in extracted
        if key(e) in committed
        and (not translation_of(committed[key(e)]).strip() or committed[key(e)].fuzzy)
    ]
    hint = "run `make messages`, translate the new entries of django.po, run it again"
    assert not missing, f"{len(missing)} strings are not in django.po ({hint}): {missing[:20]}"
    assert not untranslated, f"{len(untranslated)} untranslated or fuzzy: {untranslated[:20]}"


def python_sources() -> list[Path]:
    return [
        path
        for path in BASE.rglob("*.py")
        if path.relative_to(BASE).parts[0] not in NOT_SOURCE
        and not path.relative_to(BASE).parts[0].endswith(".egg-info")
        and "migrations" not in path.parts
    ]


TRANSLATION_FUNCTIONS = {
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
TRANSLATION_IMPORT = re.compile(
    r"from django\.utils\.translation import (?:\(([^)]*)\)|([^\n]+))", re.MULTILINE
)


def test_translation_functions_go_by_names_xgettext_knows() -> None:
    """xgettext finds strings by the function's name: `gettext_lazy as _lazy("…")` is never
    extracted, so the string would stay English without any test noticing."""
    wrong = []
    for path in python_sources():
        relative = path.relative_to(BASE)
        for group in TRANSLATION_IMPORT.findall(path.read_text(encoding="utf-8")):
            for part in ",".join(group).split(","):
                name, _as, alias = part.strip().partition(" as ")
                known = alias == "_" and name in {"gettext", "gettext_lazy", "gettext_noop"}
                if name in TRANSLATION_FUNCTIONS and alias and not known:
                    wrong.append(f"{relative}: {name} as {alias}")
    assert not wrong, wrong


def test_no_translation_runs_at_import_time() -> None:
    """gettext() in a module or class body runs once, at import, in English: such a label
    never changes language. Those need gettext_lazy."""
    eager = {"gettext", "ngettext", "pgettext", "npgettext"}
    wrong = []
    for path in python_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
            for alias in node.names
            if alias.name in eager
        }
        pending: list[ast.AST] = [tree]
        while pending:  # every node outside a function body
            for child in ast.iter_child_nodes(pending.pop()):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    continue
                func = getattr(child, "func", None)
                if isinstance(child, ast.Call) and isinstance(func, ast.Name) and func.id in names:
                    wrong.append(f"{path.relative_to(BASE)}:{child.lineno}")
                pending.append(child)
    assert not wrong, wrong


def test_no_javascript_strings_without_a_catalogue(extracted: polib.POFile) -> None:
    """The scripts take their words from the page (the journey builder's JSON config, data-
    attributes), translated on the server. A gettext() call in static/js would need a
    djangojs catalogue and Django's JavaScriptCatalog view: there is none yet."""
    calls = [
        str(path.relative_to(BASE))
        for path in (BASE / "static" / "js").glob("*.js")
        if re.search(r"\b(n|p|np)?gettext\(", path.read_text(encoding="utf-8"))
    ]
    assert not calls, f"gettext() in {calls}: add a djangojs catalogue and JavaScriptCatalog"


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    po = {key(e): translation_of(e) for e in catalogue() if translation_of(e) and not e.fuzzy}
    mo = {key(e): translation_of(e) for e in polib.mofile(str(MESSAGES / "django.mo")) if e.msgid}
    assert mo == po, "django.mo is out of date: run `make messages`"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext's msgfmt")
def test_the_po_file_compiles_with_format_checks(tmp_path: Path) -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(MESSAGES / "django.po")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_translations_keep_every_placeholder() -> None:
    wrong = []
    for entry in catalogue():
        text = translation_of(entry)
        # Chinese has one plural form: it carries the plural's placeholders ("%(n)s").
        source = entry.msgid_plural or entry.msgid
        if text and placeholders(text) != placeholders(source):
            wrong.append((entry.msgid, text))
    assert not wrong, wrong[:10]


def test_the_catalogue_has_one_plural_form() -> None:
    po = catalogue()
    assert po.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert po.metadata["Language"] == "zh_Hans"
    assert all(set(e.msgstr_plural) == {0} for e in po if e.msgid_plural)


# --- Choosing the language -------------------------------------------------------------------

# (role, page, Chinese that page shows). Each role's first page of work.
ROLE_PAGES = [
    (Role.MANAGER, "dashboards", ["数据每 30 秒刷新一次。", "仪表盘"]),
    (Role.MARKETER, "contacts", ["导入 CSV", "联系人"]),
    (Role.REP, "queue", ["一次一条线索", "队列"]),
    (Role.MARKETER, "journeys", ["新建旅程", "内置旅程"]),
    (Role.SALES_MANAGER, "cadences", ["内置序列", "新建序列"]),
    (Role.ADMIN, "users", ["新建用户", "最近登录"]),
]
ENGLISH_CHROME = ["Sign out", ">Home<", ">Password<", ">Menu<"]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "url_name", "chinese"), ROLE_PAGES)
def test_a_chinese_speaking_user_works_in_chinese(
    client: Client, user_with_role: Any, role: Role, url_name: str, chinese: list[str]
) -> None:
    client.force_login(user_with_role(role, language="zh-hans"))
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    for text in [*chinese, "退出登录", "首页"]:
        assert text in body, text
    for text in ENGLISH_CHROME:
        assert text not in body, text


@pytest.mark.django_db
def test_the_users_choice_wins_over_the_browser(client: Client, user_with_role: Any) -> None:
    client.force_login(user_with_role(Role.REP, language="en"))
    body = client.get(reverse("queue"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Sign out" in body and "退出登录" not in body


@pytest.mark.django_db
def test_without_a_choice_the_browser_decides(client: Client, user_with_role: Any) -> None:
    client.force_login(user_with_role(Role.REP))  # language "": follow the browser
    assert "退出登录" in client.get(reverse("queue"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Sign out" in client.get(reverse("queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_a_chinese_browser_gets_the_sign_in_page_in_chinese(client: Client) -> None:
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    body = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert "营销与销售，一体运转。" in body and "用户名" in body and "登录" in body
    assert "User name" not in body
    # The picker there posts to Django's set_language, which keeps the choice in a cookie.
    assert f'action="{reverse("set_language")}"' in body
    response = client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert (
        "User name" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    )


@pytest.mark.django_db
def test_the_picker_saves_the_users_language(client: Client, user_with_role: Any) -> None:
    user = user_with_role(Role.REP)
    client.force_login(user)
    page = client.get(reverse("queue")).content.decode()
    assert 'data-testid="language-picker"' in page and "简体中文" in page

    url = reverse("account_language")
    response = client.post(url, {"language": "zh-hans", "next": reverse("contacts")})
    assert response.status_code == 302 and response["Location"] == reverse("contacts")
    user.refresh_from_db()
    assert user.language == "zh-hans"
    assert "退出登录" in client.get(reverse("queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Back to "follow the browser"; a foreign `next` goes home instead.
    response = client.post(url, {"language": "", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.language == ""


@pytest.mark.django_db
def test_the_picker_refuses_an_unknown_language(client: Client, user_with_role: Any) -> None:
    user = user_with_role(Role.REP, language="zh-hans")
    client.force_login(user)
    response = client.post(reverse("account_language"), {"language": "klingon"})
    assert response.status_code == 400
    assert "未知语言" in response.content.decode()
    user.refresh_from_db()
    assert user.language == "zh-hans"
    assert client.get(reverse("account_language")).status_code == 405


@pytest.mark.django_db
def test_the_users_language_costs_no_query(client: Client, user_with_role: Any) -> None:
    """The middleware reads the user that the views load anyway."""
    counts = []
    for user in (user_with_role(Role.REP), user_with_role(Role.REP, language="zh-hans")):
        client.force_login(user)
        client.get(reverse("home"))  # warm caches (permissions, content types)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("home"))
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Numbers and dates -----------------------------------------------------------------------


def test_numbers_and_dates_follow_the_language() -> None:
    from datetime import UTC, date, datetime

    from django.utils.formats import date_format

    with translation.override("zh-hans"):
        assert fmt.count(1234567) == "1,234,567"  # grouped by thousands, as Chinese shops do
        assert fmt.money(Decimal("1234567.5")) == "1,234,567.50"
        assert fmt.days(Decimal("4.52")) == "4.5 天"
        assert date_format(date(2026, 3, 1)) == "2026年3月1日"
        assert date_format(datetime(2026, 3, 2, 9, 5, tzinfo=UTC), "D H:i") == "周一 09:05"
    with translation.override("en"):
        assert fmt.days(Decimal("4.52")) == "4.5 d"
        assert date_format(datetime(2026, 3, 2, 9, 5, tzinfo=UTC), "D H:i") == "Mon 09:05"


# (format name, English as the app has always shown it, Chinese)
NAMED_FORMATS = [
    ("SHORT_DATE_FORMAT", "2026-03-05", "2026年3月5日"),
    ("DATE_FORMAT", "2026-03-05", "2026年3月5日"),
    ("SHORT_DATETIME_FORMAT", "2026-03-05 14:07", "2026年3月5日 14:07"),
    ("DATETIME_FORMAT", "2026-03-05 14:07:09", "2026年3月5日 14:07:09"),
    ("TIME_FORMAT", "14:07", "14:07"),
    ("MONTH_DAY_FORMAT", "03-05", "3月5日"),
    ("YEAR_MONTH_FORMAT", "2026-03", "2026年3月"),
]


@pytest.mark.parametrize(("name", "english", "chinese"), NAMED_FORMATS)
def test_the_named_date_formats_of_each_language(name: str, english: str, chinese: str) -> None:
    """The templates ask for dates by name (`|date:"SHORT_DATETIME_FORMAT"`): English keeps the
    ISO look, Chinese writes 年月日 (growth/formats/)."""
    from datetime import datetime

    from django.utils.formats import date_format

    moment = datetime(2026, 3, 5, 14, 7, 9)
    with translation.override("en"):
        assert date_format(moment, name) == english
    with translation.override("zh-hans"):
        assert date_format(moment, name) == chinese


HARD_CODED_DATE = re.compile(r"""\|(?:date|time):"(?![A-Z_]+")""")


def test_templates_ask_for_dates_by_name() -> None:
    """A hard-coded `|date:"Y-m-d"` shows English dates to everyone. Machine values (an
    <input type=date> value) use single quotes, `|date:'Y-m-d'`, and stay ISO on purpose."""
    wrong = [
        f"{path.relative_to(BASE)}:{n}"
        for path in (BASE / "templates").rglob("*.html")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if HARD_CODED_DATE.search(line)
    ]
    assert not wrong, wrong


@pytest.mark.django_db
def test_dates_and_money_written_in_python_follow_the_language() -> None:
    from datetime import UTC, date, datetime

    from growth.currency import money_display
    from growth.formats.localized import local_date, local_datetime, local_month

    moment = datetime(2026, 3, 5, 14, 7, tzinfo=UTC)
    with translation.override("zh-hans"):
        assert local_datetime(moment) == "2026年3月5日 14:07"
        assert local_date(date(2026, 3, 5)) == "2026年3月5日"
        assert local_month(date(2026, 3, 1)) == "2026年3月"
        assert money_display(Decimal("1234567.5"), "USD") == "US$1,234,567.50"
        assert money_display(Decimal("-88"), "cny") == "-¥88.00"
        assert money_display(Decimal("5"), "CHF") == "5.00 CHF"  # no symbol known: the code
        assert money_display(Decimal("1234.5")) == "1,234.50"
    with translation.override("en"):
        assert local_datetime(moment) == "2026-03-05 14:07"
        assert money_display(Decimal("1234567.5"), "USD") == "1,234,567.50 USD"


def test_chart_date_axes_follow_the_language() -> None:
    from analytics.dashboards.plotting import date_axis

    with translation.override("zh-hans"):
        axis = date_axis()
        assert axis["type"] == "date"
        assert axis["tickformat"] == "%-m月%-d日" and axis["hoverformat"] == "%Y年%-m月%-d日"
    with translation.override("en"):
        assert "tickformat" not in date_axis()  # plotly's own English ticks


# --- Shipped content -------------------------------------------------------------------------


def test_shipped_names_are_translated_and_user_names_are_data() -> None:
    from growth.shipped import shipped_text, shipped_texts

    with translation.override("zh-hans"):
        for english in ["Champions", "Marketing-qualified lead", "7 touches in 7 days"]:
            assert english in shipped_texts()
            assert shipped_text(english) != english, f"{english!r} has no Chinese translation"
        assert shipped_text("Abandoned cart") == "弃购挽回"
        assert shipped_text("Champions (EU)") == "Champions (EU)"  # renamed: the user's words
        # A second copy installed beside the first is still Growth's name.
        assert shipped_text("Abandoned cart (shipped)") == "弃购挽回（内置）"
        assert shipped_text("My cart (shipped)") == "My cart (shipped)"
        assert shipped_text("冠军客户") == "冠军客户"
        assert shipped_text(None) == ""
    with translation.override("en"):
        assert shipped_text("Champions") == "Champions"


def test_every_shipped_name_is_registered_and_marked_for_translation(
    extracted: polib.POFile,
) -> None:
    """What the apps ship (migrations and installers) is registered with growth.shipped, and
    makemessages finds each text, so a Chinese reader never gets English defaults."""
    from automations.journeys.shipped import SHIPPED as JOURNEYS
    from cadences.services.cadences import SHIPPED as CADENCES
    from growth.shipped import shipped_texts
    from leads.services.qualification import DEFAULT_DEFINITIONS
    from leads.services.scoring import DEFAULT_MODEL, DEFAULT_RULES
    from leads.services.segments import RFM_SEGMENTS

    shipped = [
        *(d["name"] for d in DEFAULT_DEFINITIONS),
        DEFAULT_MODEL["name"],
        *(r["name"] for r in DEFAULT_RULES),
        *(name for _key, name, _description in RFM_SEGMENTS),
        *(c.name for c in CADENCES),
        *(j.name for j in JOURNEYS),
        *(m.name for j in JOURNEYS for m in j.messages),
    ]
    registered = shipped_texts()
    msgids = {e.msgid for e in extracted}
    assert [name for name in shipped if name not in registered] == []
    assert [name for name in shipped if name not in msgids] == []


@pytest.mark.django_db
def test_a_chinese_marketer_reads_the_shipped_segments_and_definitions(
    client: Client, user_with_role: Any
) -> None:
    from leads.models import QualificationDefinition, Segment
    from leads.services.qualification import definitions_install_defaults
    from leads.services.segments import rfm_install

    definitions_install_defaults()
    rfm_install()
    Segment.objects.filter(rfm_key="lost").update(name="Gone for good")  # renamed by a user
    client.force_login(user_with_role(Role.MARKETER, language="zh-hans"))
    segments = client.get(reverse("segments")).content.decode()
    assert "冠军客户" in segments and "忠诚客户" in segments
    assert ">Champions<" not in segments
    assert "Gone for good" in segments  # the user's own name, as it is
    definition = QualificationDefinition.objects.get(kind="mql")
    page = client.get(reverse("qualification_definitions")).content.decode()
    assert "营销合格线索" in page and "Marketing-qualified lead" not in page
    assert definition.name == "Marketing-qualified lead"  # stored as shipped: data untouched


@pytest.mark.django_db
def test_the_dashboard_in_chinese(client: Client, user_with_role: Any) -> None:
    from tests.analytics.test_dashboard_pages import MARCH, build_shop, values

    build_shop()
    client.force_login(user_with_role(Role.MANAGER, language="zh-hans"))
    response = client.get(reverse("dashboards"), MARCH)
    assert response.status_code == 200
    response.html = response.content.decode()  # type: ignore[attr-defined]
    cards = values(response)
    assert cards["net_revenue"] == "185.00" and cards["clv_to_cac"] == "\u00d73.70"
    html = response.html  # type: ignore[attr-defined]
    assert "2026年3月1日 至 2026年3月31日（31 天，UTC）。" in html
    assert "总额 275.00，退款 90.00" in html
    assert "花费 50.00（广告 50.00，其他 0.00），获得 2 位新客户" in html
    assert "金额单位：USD。" in html
    assert "From 2026-03-01" not in html


@pytest.mark.django_db
def test_a_second_copy_of_a_shipped_journey_reads_in_chinese_too() -> None:
    from automations.journeys.shipped import shipped_install
    from automations.models import Journey
    from growth.shipped import shipped_text

    Journey.objects.create(name="Abandoned cart")  # a marketer's own, by the same name
    second = shipped_install(key="abandoned_cart")
    assert second.name == "Abandoned cart (shipped)"
    with translation.override("zh-hans"):
        assert shipped_text(second.name) == "弃购挽回（内置）"
