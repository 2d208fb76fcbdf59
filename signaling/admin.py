from django.contrib import admin, messages

from signaling import services
from signaling.models import ActiveConnection, SignalingUser


@admin.register(SignalingUser)
class SignalingUserAdmin(admin.ModelAdmin):
    list_display = ["username", "registered", "online"]
    search_fields = ["username", "key"]
    readonly_fields = ["key", "registered"]

    @admin.display(boolean=True)
    def online(self, user):
        connection = getattr(user, "connection", None)
        return bool(connection and connection.is_live())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection")


@admin.register(ActiveConnection)
class ActiveConnectionAdmin(admin.ModelAdmin):
    list_display = ["user", "connected", "seen", "live", "channel_name"]
    list_select_related = ["user"]
    readonly_fields = ["user", "channel_name", "connected", "seen"]
    actions = ["kick"]

    def has_add_permission(self, request):
        return False  # rows belong to live sockets; only a consumer creates one

    @admin.display(boolean=True)
    def live(self, connection):
        return connection.is_live()

    # Deleting a row is kicking it: a socket without its row must not stay open.
    def delete_model(self, request, obj):
        services.kick_connections(ActiveConnection.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.kick_connections(queryset)

    @admin.action(description="Kick: close these sockets and clear them from the registry")
    def kick(self, request, queryset):
        kicked = services.kick_connections(queryset)
        self.message_user(request, f"Kicked {kicked} connection{'' if kicked == 1 else 's'}.", messages.SUCCESS)
