from django.contrib import admin

from contacts.models import Contact, Replica


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
    list_display = ["user", "name", "phone", "replica", "clock", "alive"]
    list_filter = ["replica", "deleted"]
    search_fields = ["user", "name", "phone"]
    list_select_related = ["replica"]
    ordering = ["replica__name", "user", "name"]

    @admin.display(boolean=True, description="alive (not a tombstone)", ordering="deleted")
    def alive(self, contact):
        return not contact.deleted
