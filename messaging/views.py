from django.shortcuts import render


def chat_page(request):
    """The chat page: pick a name, browse rooms and their history, talk live (nane dialect)."""
    return render(request, "messaging/chat.html")
