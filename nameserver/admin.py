from django.contrib import admin

from nameserver.models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "ip", "port", "connected", "live"]
    search_fields = ["name", "ip"]
    readonly_fields = ["id"]

    @admin.display(boolean=True)
    def live(self, client):
        return client.is_live()
