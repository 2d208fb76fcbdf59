from django.contrib import admin
from django.db import models

from contacts.models import Contact, Replica, shown


@admin.register(Replica)
class ReplicaAdmin(admin.ModelAdmin):
    list_display = ["name", "clock", "live_contacts", "tombstones"]
    search_fields = ["name"]

    def live_contacts(self, replica):
        return replica.contacts.live().count()

    def tombstones(self, replica):
        return replica.contacts.filter(deleted=True).count()


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Contacts as text; the bytes themselves are only ever written by the replicas."""

    list_display = ["user_text", "name_text", "phone_text", "replica", "clock", "alive"]
    list_filter = ["replica", "deleted"]
    list_select_related = ["replica"]
    ordering = ["replica__name", "user", "name"]
    # Binary columns are not editable in forms: show them as text beside the editable fields.
    readonly_fields = ["user_text", "name_text", "phone_text"]
    search_fields = ["user", "name"]  # shows the search box; get_search_results does the matching
    search_help_text = "A whole user or contact name, as written (matched on its UTF-8 bytes)."

    @admin.display(description="user", ordering="user")
    def user_text(self, contact):
        return shown(contact.user)

    @admin.display(description="name", ordering="name")
    def name_text(self, contact):
        return shown(contact.name)

    @admin.display(description="phone")
    def phone_text(self, contact):
        return shown(contact.phone)

    @admin.display(boolean=True, description="alive (not a tombstone)", ordering="deleted")
    def alive(self, contact):
        return not contact.deleted

    def get_search_results(self, request, queryset, search_term):
        # LIKE on a binary column means something else on each database: match whole names.
        if not search_term:
            return queryset, False
        wanted = search_term.strip().encode()
        return queryset.filter(models.Q(user=wanted) | models.Q(name=wanted)), False
