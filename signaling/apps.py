from django.apps import AppConfig


class SignalingConfig(AppConfig):
    name = "signaling"

    def ready(self):
        from chatsite.core import metrics
        from signaling.services import active_user_count

        metrics.database_gauge(
            "chatsite_signaling_active_users",
            "Users holding a live /v1/connect socket (the whole deployment).",
            active_user_count,
        )
