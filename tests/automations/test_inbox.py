"""Team tasks and the inbox: created once per key, seen only by the user or role they are
for (another user gets 404), open first, filtered, marked done once (htmx and plain POST),
with a link to the contact for those who may view contacts, and a count for the badge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from automations.models import TeamTask
from automations.selectors_engagement import inbox_page, inbox_unread_count
from automations.services.inbox import task_complete, task_create
from growth.roles import Role
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

SOON = datetime(2030, 1, 1, 9, tzinfo=UTC)


def listed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [task.key for task in response.context["page"].tasks]


# --- The services ---------------------------------------------------------------------------


def test_task_create_is_idempotent_per_key(user_with_role):
    anna = ContactFactory(first_name="Anna", last_name="Berg")
    first = task_create(
        key="run-1:node-3",
        title="Call Anna",
        body="She asked for a call back.",
        contact=anna,
        role=Role.SALES_MANAGER,
        origin="journey",
        due_at=SOON,
    )
    again = task_create(key="run-1:node-3", title="Something else", role=Role.REP)
    assert again.pk == first.pk
    assert TeamTask.objects.count() == 1
    task = TeamTask.objects.get()
    assert (task.title, task.role, task.contact_id, task.origin, task.due_at) == (
        "Call Anna",
        "sales_manager",
        anna.pk,
        "journey",
        SOON,
    )
    assert task.status == TeamTask.Status.OPEN and task.done_at is None


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"key": "k", "title": "No one to do it"}, "assignee"),
        ({"key": "k", "title": "Bad role", "role": "janitor"}, "role"),
        ({"key": "k", "title": "  ", "role": Role.REP}, "title"),
        ({"key": " ", "title": "No key", "role": Role.REP}, "key"),
    ],
)
def test_task_create_refuses_a_task_nobody_can_do(fields, error_field):
    with pytest.raises(ValidationError) as raised:
        task_create(**fields)
    assert error_field in raised.value.message_dict
    assert not TeamTask.objects.exists()


def test_the_database_refuses_a_task_without_assignee_or_role():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        TeamTask.objects.create(key="x", title="Orphan")


def test_task_complete_records_who_and_when_once(user_with_role):
    first = user_with_role(Role.SALES_MANAGER)
    second = user_with_role(Role.SALES_MANAGER)
    task = task_create(key="t", title="Call", role=Role.SALES_MANAGER)
    done = task_complete(task=task, actor=first)
    assert done.status == TeamTask.Status.DONE and done.done_by == first
    at = done.done_at
    again = task_complete(task=task, actor=second)  # a second click, or a colleague
    assert (again.done_by, again.done_at) == (first, at)


def test_task_complete_refuses_a_user_the_task_is_not_for(user_with_role):
    rep = user_with_role(Role.REP)
    task = task_create(key="t", title="Call", role=Role.SALES_MANAGER)
    with pytest.raises(PermissionDenied):
        task_complete(task=task, actor=rep)
    task.refresh_from_db()
    assert task.status == TeamTask.Status.OPEN


# --- The page -------------------------------------------------------------------------------


def test_inbox_shows_own_and_role_tasks_open_first(client, user_with_role):
    me = user_with_role(Role.SALES_MANAGER)
    other = user_with_role(Role.SALES_MANAGER)
    task_create(key="mine-later", title="Mine, due later", user=me, due_at=SOON + timedelta(days=2))
    task_create(
        key="role-soon", title="For managers, due soon", role=Role.SALES_MANAGER, due_at=SOON
    )
    task_create(key="mine-undated", title="Mine, no due date", user=me)
    done = task_create(key="mine-done", title="Mine, done", user=me)
    task_complete(task=done, actor=me)
    task_create(key="others", title="Someone else's", user=other)
    task_create(key="reps", title="For reps", role=Role.REP)

    client.force_login(me)
    page = client.get("/inbox/")
    assert page.status_code == 200
    assert listed(page) == ["role-soon", "mine-later", "mine-undated", "mine-done"]
    html = page.content.decode()
    assert "Someone else" not in html and "For reps" not in html
    assert 'data-testid="open-count">3<' in html
    assert 'data-testid="done-count">1<' in html

    assert listed(client.get("/inbox/?status=open")) == ["role-soon", "mine-later", "mine-undated"]
    assert listed(client.get("/inbox/?status=done")) == ["mine-done"]
    assert listed(client.get("/inbox/?status=bogus")) == listed(page)  # an unknown filter: all


def test_inbox_page_needs_a_sign_in_only(client, user_with_role):
    assert client.get("/inbox/").status_code == 302  # to the login page
    nobody = user_with_role()  # no role at all: still has an inbox
    task_create(key="personal", title="Only for you", user=nobody)
    client.force_login(nobody)
    page = client.get("/inbox/")
    assert page.status_code == 200
    assert listed(page) == ["personal"]


def test_an_empty_inbox_says_where_tasks_come_from(client_as):
    client = client_as(Role.REP)
    html = client.get("/inbox/").content.decode()
    assert 'data-testid="empty"' in html
    assert "Tasks come from journeys" in html
    html = client.get("/inbox/?status=done").content.decode()
    assert "Nothing done yet" in html


def test_mark_done_with_htmx_swaps_the_task_and_the_count(client, user_with_role):
    me = user_with_role(Role.SALES_MANAGER)
    task = task_create(key="t1", title="Call Anna", role=Role.SALES_MANAGER)
    task_create(key="t2", title="Call Bob", role=Role.SALES_MANAGER)
    client.force_login(me)
    answer = client.post(f"/inbox/{task.pk}/done/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert f'id="task-{task.pk}"' in html and 'data-status="done"' in html
    assert 'hx-swap-oob="true" data-testid="open-count">1<' in html
    task.refresh_from_db()
    assert task.status == TeamTask.Status.DONE and task.done_by == me
    assert inbox_unread_count(user=me) == 1


def test_mark_done_without_htmx_redirects_to_the_inbox(client, user_with_role):
    me = user_with_role(Role.REP)
    task = task_create(key="t1", title="Call Anna", user=me)
    client.force_login(me)
    answer = client.post(f"/inbox/{task.pk}/done/")
    assert answer.status_code == 302 and answer["Location"] == "/inbox/"
    assert client.get(f"/inbox/{task.pk}/done/").status_code == 405  # GET changes nothing
    task.refresh_from_db()
    assert task.status == TeamTask.Status.DONE


def test_another_user_gets_404_for_a_task_not_theirs(client, user_with_role):
    owner = user_with_role(Role.REP)
    stranger = user_with_role(Role.REP)
    manager_only = task_create(key="m", title="For managers", role=Role.SALES_MANAGER)
    owners = task_create(key="o", title="For the owner", user=owner)
    client.force_login(stranger)
    assert client.post(f"/inbox/{owners.pk}/done/").status_code == 404
    assert client.post(f"/inbox/{manager_only.pk}/done/", HTTP_HX_REQUEST="true").status_code == 404
    assert client.post("/inbox/999999/done/").status_code == 404
    assert listed(client.get("/inbox/")) == []
    assert TeamTask.objects.filter(status=TeamTask.Status.DONE).count() == 0


def test_contact_link_only_for_users_who_may_view_contacts(client, user_with_role):
    anna = ContactFactory(first_name="Anna", last_name="Berg")
    task_create(key="t", title="Call Anna", contact=anna, role=Role.REP)
    manager = user_with_role(Role.REP, Role.SALES_MANAGER)
    rep = user_with_role(Role.REP)

    client.force_login(manager)
    html = client.get("/inbox/").content.decode()
    assert f'href="/contacts/{anna.pk}/" data-testid="task-contact">Anna Berg</a>' in html

    client.force_login(rep)
    html = client.get("/inbox/").content.decode()
    assert "Anna Berg" in html
    assert f"/contacts/{anna.pk}/" not in html


def test_unread_count_counts_open_tasks_for_the_user_and_roles(user_with_role):
    from django.contrib.auth.models import AnonymousUser

    me = user_with_role(Role.MARKETER, Role.REP)
    task_create(key="a", title="a", user=me)
    task_create(key="b", title="b", role=Role.REP)
    task_create(key="c", title="c", role=Role.MARKETER, user=me)  # counted once
    task_create(key="d", title="d", role=Role.SALES_MANAGER)
    done = task_create(key="e", title="e", role=Role.REP)
    task_complete(task=done, actor=me)
    assert inbox_unread_count(user=me) == 3
    assert inbox_unread_count(user=AnonymousUser()) == 0


def test_inbox_pages_through_many_tasks(user_with_role):
    from automations import selectors_engagement

    me = user_with_role(Role.REP)
    TeamTask.objects.bulk_create(
        TeamTask(key=f"k{i}", title=f"Task {i}", assignee=me)
        for i in range(selectors_engagement.INBOX_PAGE + 5)
    )
    first = inbox_page(user=me)
    assert len(first.tasks) == selectors_engagement.INBOX_PAGE and first.has_next
    second = inbox_page(user=me, page=2)
    assert len(second.tasks) == 5 and not second.has_next
    assert not {t.pk for t in first.tasks} & {t.pk for t in second.tasks}


def test_inbox_reads_a_constant_number_of_queries(
    client, user_with_role, django_assert_max_num_queries
):
    me = user_with_role(Role.SALES_MANAGER)
    client.force_login(me)
    for i in range(3):
        task_create(key=f"few{i}", title="t", contact=ContactFactory(), role=Role.SALES_MANAGER)
    with django_assert_max_num_queries(8) as few:
        assert client.get("/inbox/").status_code == 200
    for i in range(30):
        task_create(key=f"many{i}", title="t", contact=ContactFactory(), user=me)
    with django_assert_max_num_queries(8) as many:
        assert client.get("/inbox/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_visitor_who_is_not_signed_in_sees_no_task(user_with_role):
    from django.contrib.auth.models import AnonymousUser

    from automations.selectors_engagement import inbox_tasks

    task_create(key="r", title="For reps", role=Role.REP)
    assert list(inbox_tasks(user=AnonymousUser())) == []
    with pytest.raises(PermissionDenied):
        task_complete(task=TeamTask.objects.get(), actor=AnonymousUser())


def test_tasks_follow_a_merge_to_the_survivor():
    from automations.services.inbox import tasks_move_contact

    merged, survivor = ContactFactory(), ContactFactory()
    task_create(key="a", title="Call", contact=merged, role=Role.REP)
    assert tasks_move_contact(survivor_id=survivor.pk, merged_id=merged.pk) == 1
    assert TeamTask.objects.get().contact_id == survivor.pk
