from django.apps import AppConfig


class NameserverConfig(AppConfig):
    name = "nameserver"
    verbose_name = "Name server"

    def ready(self):
        from django.core import signals

        from nameserver import store

        signals.request_started.connect(store.start_cycle)
        signals.request_finished.connect(store.end_cycle)
