"""On PostgreSQL, every committed change of a registry row is notified on a channel named after its table.

Each web process keeps the live map from these notifications (nameserver/notified_map.py).
A trigger rather than the writers themselves, so that every writer is heard: the
heartbeat, registration, the pruner, the admin, another node.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION nameserver_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify(TG_TABLE_NAME, '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify(TG_TABLE_NAME, '- ' || OLD.id);
    ELSE
        PERFORM pg_notify(
            TG_TABLE_NAME,
            '+ ' || NEW.id || ' ' || (extract(epoch FROM NEW.connected) * 1000000)::bigint || ' ' || NEW.entry
        );
    END IF;
    RETURN NULL;
END
$$;
"""
TRIGGERS = """
CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION nameserver_notify();
CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION nameserver_notify();
"""
TABLES = ("nameserver_client", "nameserver_node")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        for table in TABLES:
            schema_editor.execute(TRIGGERS.format(table=table))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER {table}_notify ON {table}")
            schema_editor.execute(f"DROP TRIGGER {table}_notify_truncate ON {table}")
        schema_editor.execute("DROP FUNCTION nameserver_notify()")


class Migration(migrations.Migration):
    dependencies = [("nameserver", "0004_node")]

    operations = [migrations.RunPython(create, drop)]
