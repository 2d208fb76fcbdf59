from django.apps import AppConfig


class NameserverConfig(AppConfig):
    name = "nameserver"
    verbose_name = "Name server"

    def ready(self):
        from django.core import signals

        from chatsite.core import metrics
        from nameserver import store
        from nameserver.services import live_client_count

        signals.request_started.connect(store.start_cycle)
        signals.request_finished.connect(store.end_cycle)
        metrics.database_gauge(
            "chatsite_nameserver_live_clients", "Live name-server clients (the whole deployment).", live_client_count
        )
