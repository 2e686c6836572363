import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from growth.roles import Role

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_admin_creates_a_user_with_roles(client_as):
    client = client_as(Role.ADMIN)
    response = client.post(
        reverse("user_create"),
        {
            "username": "newrep",
            "email": "newrep@example.com",
            "roles": ["rep", "marketer"],
            "password": "a-long-enough-pass-7",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newrep")
    assert sorted(user.groups.values_list("name", flat=True)) == ["marketer", "rep"]
    assert user.check_password("a-long-enough-pass-7")


def test_create_rejects_weak_password_and_duplicate_name_without_writing(client_as, user_with_role):
    client = client_as(Role.ADMIN)
    user_with_role(Role.REP, username="taken")
    before = User.objects.count()
    response = client.post(
        reverse("user_create"), {"username": "TAKEN", "roles": ["rep"], "password": "123"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "A user with this name already exists." in body
    assert "This password is too short" in body
    assert User.objects.count() == before


def test_create_needs_at_least_one_role(client_as):
    response = client_as(Role.ADMIN).post(
        reverse("user_create"), {"username": "norole", "password": "a-long-enough-pass-7"}
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="norole").exists()


def test_admin_changes_roles_and_deactivates(client_as, user_with_role):
    client = client_as(Role.ADMIN)
    user = user_with_role(Role.REP)
    response = client.post(
        reverse("user_edit", args=[user.pk]),
        {
            "first_name": "Kim",
            "last_name": "Park",
            "email": "kim@example.com",
            "roles": ["sales_manager"],
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert list(user.groups.values_list("name", flat=True)) == ["sales_manager"]
    assert user.first_name == "Kim"


def test_an_inactive_user_cannot_sign_in(client, user_with_role):
    from tests.factories import PASSWORD

    user = user_with_role(Role.REP, is_active=False)
    assert not client.login(username=user.username, password=PASSWORD)


def test_admin_cannot_lock_themselves_out(client, user_with_role):
    admin = user_with_role(Role.ADMIN)
    client.force_login(admin)
    response = client.post(reverse("user_edit", args=[admin.pk]), {"roles": ["admin"]})
    assert "You cannot deactivate yourself." in response.content.decode()
    response = client.post(
        reverse("user_edit", args=[admin.pk]), {"roles": ["rep"], "is_active": "on"}
    )
    assert "You cannot take the admin role from yourself." in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active
    assert list(admin.groups.values_list("name", flat=True)) == ["admin"]


def test_user_list_filters(client_as, user_with_role):
    client = client_as(Role.ADMIN)
    # Fixed names: the factory's random ones could match the search ("Brittany" has "rit").
    user_with_role(Role.REP, username="rita", first_name="Rita", last_name="Jones")
    user_with_role(
        Role.MARKETER, username="mark", first_name="Mark", last_name="Lee", is_active=False
    )
    body = client.get(reverse("users"), {"role": "rep"}).content.decode()
    assert "rita" in body and ">mark<" not in body
    body = client.get(reverse("users"), {"active": "0"}).content.decode()
    assert ">mark<" in body and "rita" not in body
    body = client.get(reverse("users"), {"q": "rit"}).content.decode()
    assert "rita" in body and ">mark<" not in body


def test_user_list_query_count_does_not_grow_with_users(
    client_as, user_with_role, django_assert_max_num_queries
):
    client = client_as(Role.ADMIN)
    for _ in range(30):
        user_with_role(Role.REP)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("users"))
    assert response.status_code == 200


def test_non_admins_cannot_manage_users(client_as, user_with_role):
    target = user_with_role(Role.REP)
    for role in (Role.REP, Role.MARKETER, Role.SALES_MANAGER, Role.MANAGER):
        client = client_as(role)
        assert client.get(reverse("users")).status_code == 403
        response = client.post(
            reverse("user_edit", args=[target.pk]), {"roles": ["admin"], "is_active": "on"}
        )
        assert response.status_code == 403
    assert list(target.groups.values_list("name", flat=True)) == ["rep"]
