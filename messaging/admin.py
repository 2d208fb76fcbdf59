from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from messaging.models import ChatSession, Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "message_count", "created"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "last_seq", "created"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_count=Count("messages"))

    @admin.display(ordering="message_count", description="messages")
    def message_count(self, room):
        url = reverse("admin:messaging_message_changelist") + f"?room__id__exact={room.pk}"
        return format_html('<a href="{}">{}</a>', url, room.message_count)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "room", "sender", "text", "client_id"]
    list_filter = ["room"]
    list_select_related = ["room"]
    search_fields = ["text", "sender", "room__name"]
    readonly_fields = ["seq"]
    date_hierarchy = "created"


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ["nickname", "dialect", "room", "issued", "connected", "ended", "expires", "holds_nickname"]
    list_filter = ["dialect", "ended", "connected"]
    list_select_related = ["room"]
    search_fields = ["nickname", "key"]
    readonly_fields = ["key"]

    @admin.display(boolean=True, description="holds nickname")
    def holds_nickname(self, session):
        return ChatSession.objects.holding_nickname().filter(pk=session.pk).exists()
