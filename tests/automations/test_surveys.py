"""Surveys: signed answer links (one click answers, a double click answers once, a later
click changes the score), comments, out-of-range scores (400) and bad links (404), closed
surveys, the detractor's task for the sales managers, the `survey_answered` signal on
commit, and the marketer's pages (list, create, edit, results with NPS and CSAT)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from automations.models import Survey, SurveyAnswer, TeamTask
from automations.services import surveys as services
from automations.services.surveys import (
    survey_answer,
    survey_link,
    survey_score_links,
    survey_token,
)
from automations.signals import survey_answered
from growth.roles import Role
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def nps() -> Survey:
    return services.survey_create(
        name="After delivery",
        kind=Survey.Kind.NPS,
        question="How likely are you to recommend us to a friend?",
        thank_you="Thank you, that helps us a lot!",
    )


@pytest.fixture
def csat() -> Survey:
    return services.survey_create(
        name="Support",
        kind=Survey.Kind.CSAT,
        question="How satisfied are you with our support?",
        thank_you="Thanks!",
    )


@pytest.fixture
def anna():  # type: ignore[no-untyped-def]
    return ContactFactory(first_name="Anna", last_name="Berg")


@pytest.fixture
def answered():  # type: ignore[no-untyped-def]
    """Every survey_answered signal sent, as dicts."""
    sent: list[dict] = []

    def receive(sender, **kwargs):  # type: ignore[no-untyped-def]
        sent.append({k: kwargs[k] for k in ("survey_id", "contact_id", "score", "answer_id")})

    survey_answered.connect(receive, weak=False)
    yield sent
    survey_answered.disconnect(receive)


def path_of(url: str) -> str:
    from django.conf import settings

    assert url.startswith(settings.PUBLIC_URL + "/")
    return url.removeprefix(settings.PUBLIC_URL)


def token_for(survey: Survey, contact, key: str = "delivery-1") -> str:  # type: ignore[no-untyped-def]
    return survey_token(survey_id=survey.pk, contact_id=contact.pk, key=key)


# --- Links ----------------------------------------------------------------------------------


def test_survey_link_is_absolute_signed_and_opens_the_scale(client, nps, anna):
    url = survey_link(survey=nps, contact=anna, key="run-7:node-2")
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.content.decode()
    assert "How likely are you to recommend us to a friend?" in html
    token = url.rstrip("/").rsplit("/", 1)[1]
    for score in range(11):
        assert f'href="/s/{token}/{score}/" data-testid="score-{score}"' in html
    assert 'data-testid="score-11"' not in html
    assert 'data-testid="nav"' not in html  # the anonymous layout: no menu


def test_score_links_cover_the_scale(nps, csat, anna):
    links = survey_score_links(survey=csat, contact=anna, key="k")
    assert [score for score, _url in links] == [1, 2, 3, 4, 5]
    assert all(url.endswith(f"/{score}/") for score, url in links)
    assert len(survey_score_links(survey=nps, contact=anna, key="k")) == 11


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: "not-a-token",
        lambda token: token.replace(":", "", 1),
    ],
)
def test_a_bad_token_is_404_and_answers_nothing(client, nps, anna, mangle):
    token = mangle(token_for(nps, anna))
    assert client.get(f"/s/{token}/").status_code == 404
    assert client.get(f"/s/{token}/3/").status_code == 404
    assert client.post(f"/s/{token}/", {"score": "3"}).status_code == 404
    assert not SurveyAnswer.objects.exists()


def test_a_token_from_another_salt_is_refused(client, nps, anna):
    from django.core import signing

    forged = signing.Signer(salt="growth.preferences").sign_object([nps.pk, anna.pk, "k"])
    assert client.get(f"/s/{forged}/3/").status_code == 404


def test_links_of_a_deleted_survey_or_an_erased_contact_are_404(client, nps, anna):
    token = token_for(nps, anna)
    anna.erased_at = timezone.now()
    anna.save(update_fields=["erased_at"])
    assert client.get(f"/s/{token}/").status_code == 404
    bob = ContactFactory()
    other = token_for(nps, bob)
    nps.delete()
    assert client.get(f"/s/{other}/5/").status_code == 404


# --- Answering ------------------------------------------------------------------------------


def test_one_click_answers_and_a_detractor_becomes_a_sales_manager_task(
    client, nps, anna, answered, django_capture_on_commit_callbacks
):
    token = token_for(nps, anna)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/s/{token}/3/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Thank you, that helps us a lot!" in html
    assert 'data-testid="comment-form"' in html

    answer = SurveyAnswer.objects.get()
    assert (answer.survey_id, answer.contact_id, answer.request_key, answer.score) == (
        nps.pk,
        anna.pk,
        "delivery-1",
        3,
    )
    task = TeamTask.objects.get()
    assert task.title == "Call this detractor: Anna Berg gave 3"
    assert (task.role, task.assignee_id, task.contact_id, task.origin) == (
        "sales_manager",
        None,
        anna.pk,
        "survey",
    )
    assert "After delivery" in task.body and "Score: 3 of 10" in task.body
    assert answered == [
        {"survey_id": nps.pk, "contact_id": anna.pk, "score": 3, "answer_id": answer.pk}
    ]


def test_a_double_click_answers_once(
    client, nps, anna, answered, django_capture_on_commit_callbacks
):
    token = token_for(nps, anna)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/s/{token}/2/").status_code == 200
        assert client.get(f"/s/{token}/2/").status_code == 200
    assert SurveyAnswer.objects.count() == 1
    assert TeamTask.objects.count() == 1
    assert len(answered) == 1  # an unchanged answer is no news


def test_the_signal_waits_for_the_commit(nps, anna, answered, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        survey_answer(survey=nps, contact=anna, key="k", score=10)
    assert answered == []  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert answered[0]["score"] == 10


def test_a_later_answer_changes_the_score_and_the_task_follows(
    client, nps, anna, answered, django_capture_on_commit_callbacks
):
    token = token_for(nps, anna)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/s/{token}/3/")
        client.get(f"/s/{token}/5/")
    answer = SurveyAnswer.objects.get()
    task = TeamTask.objects.get()
    assert answer.score == 5
    assert task.title == "Call this detractor: Anna Berg gave 5"
    assert task.status == TeamTask.Status.OPEN
    assert [s["score"] for s in answered] == [3, 5]

    # A promoter after all (a misclick, or a link scanner that clicked every score): the
    # call is no longer needed and the task closes itself.
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/s/{token}/9/")
    task.refresh_from_db()
    assert task.status == TeamTask.Status.DONE and task.done_by is None
    assert "the answer changed to 9" in task.body
    assert SurveyAnswer.objects.get().score == 9
    assert TeamTask.objects.count() == 1


def test_a_comment_is_saved_with_the_score_and_reaches_the_task(client, nps, anna):
    token = token_for(nps, anna)
    client.get(f"/s/{token}/1/")
    page = client.post(f"/s/{token}/", {"score": "1", "comment": "  The parcel arrived broken.  "})
    assert page.status_code == 200
    assert 'data-testid="comment-saved"' in page.content.decode()
    answer = SurveyAnswer.objects.get()
    assert (answer.score, answer.comment) == (1, "The parcel arrived broken.")
    assert "Comment: The parcel arrived broken." in TeamTask.objects.get().body
    # A one-click answer afterwards keeps the comment.
    client.get(f"/s/{token}/2/")
    assert SurveyAnswer.objects.get().comment == "The parcel arrived broken."


def test_the_answer_page_shows_an_earlier_answer(client, nps, anna):
    token = token_for(nps, anna)
    client.get(f"/s/{token}/8/")
    html = client.get(f"/s/{token}/").content.decode()
    assert "You answered 8." in html
    assert 'class="button primary" href="/s/' in html  # the chosen score stands out


@pytest.mark.parametrize("score", ["11", "99", "-1", "abc", "3.5", " "])
def test_a_score_off_the_scale_is_400_with_a_clear_message(client, nps, anna, score):
    token = token_for(nps, anna)
    page = client.get(f"/s/{token}/{score}/")
    assert page.status_code == 400
    html = page.content.decode()
    assert "is not a score on this survey&#x27;s scale: choose from 0 to 10." in html
    assert 'role="alert"' in html
    assert client.post(f"/s/{token}/", {"score": score}).status_code == 400
    assert not SurveyAnswer.objects.exists()
    assert not TeamTask.objects.exists()


def test_csat_takes_1_to_5_and_makes_no_task(client, csat, anna):
    token = token_for(csat, anna)
    assert client.get(f"/s/{token}/0/").status_code == 400
    assert "choose from 1 to 5" in client.get(f"/s/{token}/6/").content.decode()
    assert client.get(f"/s/{token}/1/").status_code == 200
    assert SurveyAnswer.objects.get().score == 1
    assert not TeamTask.objects.exists()  # detractors are an NPS idea


def test_the_service_checks_the_scale_too(nps, csat, anna):
    with pytest.raises(ValidationError):
        survey_answer(survey=nps, contact=anna, key="k", score=11)
    with pytest.raises(ValidationError):
        survey_answer(survey=csat, contact=anna, key="k", score=0)
    assert not SurveyAnswer.objects.exists()


def test_each_request_is_answered_separately(client, nps, anna):
    client.get(f"/s/{token_for(nps, anna, 'march')}/10/")
    client.get(f"/s/{token_for(nps, anna, 'june')}/4/")
    assert sorted(SurveyAnswer.objects.values_list("request_key", "score")) == [
        ("june", 4),
        ("march", 10),
    ]
    assert TeamTask.objects.count() == 1


def test_a_closed_survey_says_so_and_takes_no_answer(client, nps, anna):
    token = token_for(nps, anna)
    services.survey_update(survey=nps, active=False)
    page = client.get(f"/s/{token}/3/")
    assert page.status_code == 410
    assert "This survey is closed" in page.content.decode()
    assert client.get(f"/s/{token}/").status_code == 410
    assert client.post(f"/s/{token}/", {"score": "3"}).status_code == 410
    assert "no-cache" in page["Cache-Control"]
    assert not SurveyAnswer.objects.exists()


def test_a_link_checker_head_request_answers_nothing(client, nps, anna):
    token = token_for(nps, anna)
    assert client.head(f"/s/{token}/0/").status_code == 405
    assert not SurveyAnswer.objects.exists()


def test_an_answer_from_a_merged_contact_goes_to_the_survivor(client, nps, anna):
    survivor = ContactFactory(first_name="Anna", last_name="Berg-Lind")
    token = token_for(nps, anna)
    anna.merged_into = survivor
    anna.save(update_fields=["merged_into"])
    client.get(f"/s/{token}/6/")
    assert SurveyAnswer.objects.get().contact_id == survivor.pk
    assert TeamTask.objects.get().contact_id == survivor.pk


def test_answers_move_to_the_survivor_of_a_merge_except_where_it_answered_itself(nps, anna):
    survivor = ContactFactory()
    survey_answer(survey=nps, contact=anna, key="march", score=3)
    survey_answer(survey=nps, contact=anna, key="june", score=4)
    survey_answer(survey=nps, contact=survivor, key="june", score=9)
    assert services.answers_move_contact(survivor_id=survivor.pk, merged_id=anna.pk) == 1
    assert sorted(
        SurveyAnswer.objects.filter(contact=survivor).values_list("request_key", "score")
    ) == [("june", 9), ("march", 3)]


# --- The marketer's pages -------------------------------------------------------------------


def answers(survey: Survey, scores: list[int], *, days_ago: int = 0) -> None:
    for i, score in enumerate(scores):
        answer = survey_answer(
            survey=survey, contact=ContactFactory(), key=f"k{days_ago}-{i}", score=score
        )
        if days_ago:
            SurveyAnswer.objects.filter(pk=answer.pk).update(
                answered_at=timezone.now() - timedelta(days=days_ago)
            )


def test_results_show_nps_distribution_and_latest_comments(
    client_as, nps, anna, django_assert_max_num_queries
):
    answers(nps, [10, 9, 9, 8, 7, 3, 0, 6, 10, 10])  # 5 promoters, 3 detractors of 10
    survey_answer(survey=nps, contact=anna, key="c", score=2, comment="Too slow")
    client = client_as(Role.MARKETER)
    with django_assert_max_num_queries(9):  # the survey, the scores, the comments; no N+1
        page = client.get(f"/surveys/{nps.pk}/")
    assert page.status_code == 200
    results = page.context["results"]
    assert (results.answers, results.promoters, results.passives, results.detractors) == (
        11,
        5,
        2,
        4,
    )
    assert results.nps == 45 - 36  # % promoters - % detractors, each rounded
    assert dict((s, n) for s, n, _pct in results.distribution) == {
        0: 1, 1: 0, 2: 1, 3: 1, 4: 0, 5: 0, 6: 1, 7: 1, 8: 1, 9: 2, 10: 3,
    }  # fmt: skip
    html = page.content.decode()
    assert 'data-testid="nps">9<' in html
    assert "“Too slow”" in html and "Anna Berg" in html
    assert '<meter min="0" max="100" value="27"' in html  # 3 of 11 gave 10


def test_results_of_a_period_leave_older_answers_out(client_as, nps):
    answers(nps, [0, 0, 0], days_ago=120)
    answers(nps, [10, 9], days_ago=60)
    client = client_as(Role.MARKETER)
    assert client.get(f"/surveys/{nps.pk}/").context["results"].nps == 100 * 2 // 5 - 60
    recent = client.get(f"/surveys/{nps.pk}/?days=90").context["results"]
    assert (recent.answers, recent.nps) == (2, 100)
    empty = client.get(f"/surveys/{nps.pk}/?days=30")
    assert empty.context["results"].answers == 0
    assert "No answer in this period." in empty.content.decode()


def test_csat_results_show_the_average_and_share_satisfied(client_as, csat):
    answers(csat, [5, 4, 4, 2, 1])
    results = client_as(Role.MARKETER).get(f"/surveys/{csat.pk}/").context["results"]
    assert (results.csat_average, results.csat_satisfied, results.nps) == (3.2, 60, None)


def test_results_without_answers_say_how_answers_come_in(client_as, nps):
    html = client_as(Role.MARKETER).get(f"/surveys/{nps.pk}/").content.decode()
    assert 'data-testid="empty"' in html and "send survey" in html


def test_survey_list_shows_each_survey_with_its_figure_in_constant_queries(
    client_as, nps, csat, django_assert_max_num_queries
):
    client = client_as(Role.MARKETER)
    answers(nps, [10, 10, 0, 8])
    answers(csat, [5, 4])
    with django_assert_max_num_queries(7) as few:
        page = client.get("/surveys/")
    rows = {row.survey.name: (row.answers, row.headline) for row in page.context["rows"]}
    assert rows == {"After delivery": (4, "NPS 25"), "Support": (2, "CSAT 4.5")}
    for i in range(5):
        services.survey_create(name=f"S{i}", kind="nps", question="q", thank_you="t")
    with django_assert_max_num_queries(7) as many:
        client.get("/surveys/")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_empty_survey_list_says_what_to_do(client_as):
    html = client_as(Role.MARKETER).get("/surveys/").content.decode()
    assert 'data-testid="empty"' in html and "Create the first survey" in html


def test_marketer_creates_and_edits_a_survey(client_as):
    client = client_as(Role.MARKETER)
    assert client.get("/surveys/new/").status_code == 200
    answer = client.post(
        "/surveys/new/",
        {
            "name": "Post purchase",
            "kind": "csat",
            "question": "How happy are you?",
            "thank_you": "Thanks a lot",
            "active": "on",
        },
    )
    survey = Survey.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/surveys/{survey.pk}/"
    assert (survey.kind, survey.active) == ("csat", True)
    answer = client.post(
        f"/surveys/{survey.pk}/edit/",
        {"name": "Post purchase", "kind": "csat", "question": "How happy?", "thank_you": "Ta"},
    )
    survey.refresh_from_db()
    assert (survey.question, survey.active) == ("How happy?", False)


def test_the_kind_of_an_answered_survey_cannot_change(client_as, nps, anna):
    survey_answer(survey=nps, contact=anna, key="k", score=9)
    client = client_as(Role.MARKETER)
    page = client.post(
        f"/surveys/{nps.pk}/edit/",
        {"name": nps.name, "kind": "csat", "question": "q", "thank_you": "t", "active": "on"},
    )
    assert page.status_code == 400
    assert "the kind cannot change" in page.content.decode()
    nps.refresh_from_db()
    assert nps.kind == "nps"


def test_survey_pages_need_the_journeys_capability(client_as, nps):
    client = client_as(Role.REP)
    for url in ("/surveys/", "/surveys/new/", f"/surveys/{nps.pk}/", f"/surveys/{nps.pk}/edit/"):
        assert client.get(url).status_code == 403, url


def test_concurrent_clicks_on_one_link_answer_once(transactional_db, answered):
    import threading

    from django.db import connection

    survey = services.survey_create(name="Race", kind="nps", question="q", thank_you="t")
    contact = ContactFactory(first_name="Rae", last_name="Race")
    barrier, errors = threading.Barrier(6), []

    def click() -> None:
        try:
            barrier.wait()
            survey_answer(survey=survey, contact=contact, key="delivery-9", score=4)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SurveyAnswer.objects.count() == 1
    assert TeamTask.objects.count() == 1
    assert len(answered) == 1  # on commit, from the one click that created the answer
