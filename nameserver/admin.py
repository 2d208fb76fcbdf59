from django.contrib import admin

from nameserver.models import Client, Node


@admin.register(Client, Node)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["name", "ip", "port", "connected", "live"]
    search_fields = ["name", "ip"]
    readonly_fields = ["id"]

    @admin.display(boolean=True)
    def live(self, entry):
        return entry.is_live()
