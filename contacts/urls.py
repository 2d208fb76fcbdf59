from django.urls import path

from contacts import views

urlpatterns = [
    path("contacts/", views.replicas_page, name="contacts-replicas"),
    path("contacts/views.json", views.replicas_json, name="contacts-replicas-json"),
]
