from django.apps import AppConfig


class NameserverConfig(AppConfig):
    name = "nameserver"
    verbose_name = "Name server"

    def ready(self):
        from django.core import signals
        from django.db.models.signals import post_save

        from chatsite.core import metrics
        from nameserver import cycles, notified_map, store
        from nameserver.services import REGISTRIES, live_client_count

        signals.request_started.connect(cycles.start)
        signals.request_finished.connect(notified_map.end_cycle)
        signals.request_finished.connect(store.end_cycle)
        signals.request_finished.connect(cycles.end)
        # A registration in a batch shows in the lists after it in the same batch. (Nothing
        # public deletes: the pruner runs in a process of its own.)
        for registry in REGISTRIES:
            post_save.connect(notified_map.written, sender=registry)
        metrics.database_gauge(
            "chatsite_nameserver_live_clients", "Live name-server clients (the whole deployment).", live_client_count
        )
