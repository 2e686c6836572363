from django.urls import path

from cadences import views_queue

urlpatterns = [
    path("", views_queue.queue, name="queue"),
    path("touch", views_queue.queue_touch, name="queue_touch"),
    path("skip", views_queue.queue_skip_view, name="queue_skip"),
]
