"""Settings for the whole platform, read from the environment (docs/configuration.md)."""

import tomllib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chatsite.env import (
    env_bool,
    env_choice,
    env_float,
    env_heartbeat,
    env_ice_settings_checked,
    env_ice_urls,
    env_int,
    env_list,
    env_networks,
    env_origins,
    env_str,
)
from chatsite.secret_key import read_or_create

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
# --- Secret key (docs/configuration.md) ---
# Never a key from the repository, which anyone could read and forge tokens and cookies with:
# without SECRET_KEY, the instance makes a random one on first start and keeps it in
# SECRET_KEY_FILE, beside db.sqlite3 (chatsite/secret_key.py). With DEBUG off one of the two
# must be set on purpose, so that every node of a deployment is given the same key.
SECRET_KEY_FILE = Path(env_str("SECRET_KEY_FILE", "") or BASE_DIR / "var" / "secret_key")
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_str("SECRET_KEY_FILE", ""):
        raise ImproperlyConfigured(
            "DEBUG is off: set SECRET_KEY to a long random string, or SECRET_KEY_FILE to a file holding one."
        )
    SECRET_KEY = read_or_create(SECRET_KEY_FILE)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # first, so `manage.py runserver` serves WebSockets too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not from a CDN
    "chatsite",  # ensure_admin, manage.py uvicorn; daphne's close codes, close reasons and SIGTERM (daphne_fixes.py)
    "nameserver",
    "messaging",
    "signaling",
    "contacts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # 503, not 500, while the database cannot answer
    "chatsite.core.database_unavailable.DatabaseUnavailableMiddleware",
]
# The public JSON endpoints need no session, CSRF token, login, message or frame option
# (chatsite/server/handlers.py): only these, and only middleware without view hooks.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default. WAL lets the web and worker processes read while one writes,
# IMMEDIATE transactions take the write lock up front (no deadlock-on-upgrade, which
# SQLite reports as "database is locked" without waiting), and the lock timeout makes a
# writer wait its turn instead of failing. Not much longer than that: a lock held for
# long (a stuck process, a shell's BEGIN) should cost a client a quick 503, not a
# half-minute wait (chatsite/core/database_unavailable.py).
DATABASE_LOCK_TIMEOUT = env_float("DATABASE_LOCK_TIMEOUT", 5.0)
if DATABASE_LOCK_TIMEOUT <= 0:
    raise ImproperlyConfigured("DATABASE_LOCK_TIMEOUT must be above 0: the seconds a write waits for a lock.")
# PostgreSQL: the hot paths' statements (chatsite.core.sql) are prepared on a connection at
# their first use (chatsite.core.postgresql.libpq_cursor): the server then skips parsing and
# planning them, a third of its CPU per chat message. Django's own queries never are
# (psycopg's `prepare_threshold` stays Django's None). Off behind a pooler that cannot keep
# them (docs/operations.md). Read on every database, so a malformed value stops start-up.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Kept open between requests: opening SQLite and running its PRAGMAs, or a
        # PostgreSQL login, cost more than a whole name-server request.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": DATABASE_LOCK_TIMEOUT,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    DATABASES["default"]["ENGINE"] = "chatsite.core.postgresql"  # Django's, with a health check without a round trip
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c lock_timeout={round(DATABASE_LOCK_TIMEOUT * 1000)}".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("REDIS_URL must start redis:// or rediss:// (TLS).")
# Which channels-redis layer carries signaling between processes (chat broadcasts have links of their own,
# messaging/broker.py); docs/architecture.md, "Several nodes", says why pub/sub is the default.
REDIS_LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
REDIS_LAYER = env_choice("REDIS_LAYER", REDIS_LAYERS, "pubsub")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": REDIS_LAYERS[REDIS_LAYER], "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["chatsite.core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "chatsite.core.parsers.ClientJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatsite.core.database_unavailable.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "chatsite",
    "DESCRIPTION": "Name server, chat, signaling: every HTTP endpoint of the platform (docs/protocols.md).",
    # One version number: pyproject.toml's, which CHANGELOG.md's releases carry.
    "VERSION": tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]["version"],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_PATCH": False,
    # The bodies the protocols take (docs/protocols/). Multipart is parsed too, but daphne (Twisted) answers a
    # malformed multipart body itself with a bare 400 before Django sees it.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "redact_tokens": {"()": "chatsite.server.logs.RedactQueryTokens"},
        "quiet_while_stopping": {"()": "chatsite.server.logs.QuietWhileStopping"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # runserver's access log: its request lines carry query strings, hence the filter here too.
    "loggers": {
        "django.channels.server": {"level": "WARNING", "filters": ["redact_tokens"]},
        # Django's own console handler on "django" (DEBUG only) would print every request warning
        # a second time, beside the root's: "django" keeps no handler of its own.
        "django": {"handlers": [], "level": "INFO"},
        # A node that stops while Redis stops too: no tracebacks for subscriptions it is leaving anyway.
        # (A logger's filters see only its own records, so each of channels-redis's loggers.)
        "channels_redis.pubsub": {"filters": ["quiet_while_stopping"]},
        "channels_redis.core": {"filters": ["quiet_while_stopping"]},
    },
}

# HTTP requests reach Django in batches, one batch at a time (chatsite/server/wsgi_bridge.py).
# A batch running longer than HTTP_BATCH_STALL seconds lets the next one start on another
# thread, up to HTTP_THREADS at a time.
HTTP_THREADS = env_int("HTTP_THREADS", 8)
HTTP_BATCH_STALL = env_float("HTTP_BATCH_STALL", 0.05)
# A bigger request body is refused with 413 before Django sees it.
HTTP_MAX_BODY_BYTES = env_int("HTTP_MAX_BODY_BYTES", 1024 * 1024)
# Bounds for clients that stall or flood, in `manage.py uvicorn` (chatsite/server/http_protocol.py):
# seconds for a request head (from the connection's opening, or a later request's first byte)
# and for a body (from the end of its head); bytes of request line and headers; open
# connections of the process, HTTP and WebSocket (lowered at start-up to what the open-file
# limit allows).
HTTP_HEADER_TIMEOUT = env_float("HTTP_HEADER_TIMEOUT", 10.0)
HTTP_BODY_TIMEOUT = env_float("HTTP_BODY_TIMEOUT", 30.0)
HTTP_MAX_HEADER_BYTES = env_int("HTTP_MAX_HEADER_BYTES", 64 * 1024)
HTTP_MAX_CONNECTIONS = env_int("HTTP_MAX_CONNECTIONS", 10000)
if min(HTTP_HEADER_TIMEOUT, HTTP_BODY_TIMEOUT, HTTP_MAX_HEADER_BYTES, HTTP_MAX_CONNECTIONS) <= 0:
    raise ImproperlyConfigured(
        "HTTP_HEADER_TIMEOUT, HTTP_BODY_TIMEOUT, HTTP_MAX_HEADER_BYTES and HTTP_MAX_CONNECTIONS must be above 0: "
        "each bounds what one client may hold."
    )

# Web worker processes of `manage.py uvicorn` on one port (SO_REUSEPORT); above 1 needs REDIS_URL.
WEB_WORKERS = env_int("WEB_WORKERS", 1)
# Whether this process announces the node (NODE_NAME); `manage.py uvicorn` turns it off in its
# workers when it runs several, and announces the node once itself.
NODE_ANNOUNCE = env_bool("NODE_ANNOUNCE", True)

# --- Health and metrics ---
# Client networks that may read `GET /metrics`; loopback only unless set.
METRICS_ALLOWED_NETS = env_networks("METRICS_ALLOWED_NETS", ["127.0.0.0/8", "::1/128"])
# Seconds `GET /readyz` waits for the channel layer's Redis to answer.
READY_CHECK_TIMEOUT = env_float("READY_CHECK_TIMEOUT", 2.0)

# --- Name server (docs/protocols/nameserver.md) ---
NAMESERVER_TTL = env_float("NAMESERVER_TTL", 5.0)
NAMESERVER_PRUNE_INTERVAL = env_float("NAMESERVER_PRUNE_INTERVAL", 5.0)
# A web node announces itself to the name server when NODE_NAME is set (the Procfiles do).
NODE_NAME = env_str("NODE_NAME", "")
NODE_ADDRESS = env_str("NODE_ADDRESS", "127.0.0.1:8000")
NAMESERVER_URL = env_str("NAMESERVER_URL", f"http://{NODE_ADDRESS}")

# --- WebSocket limits shared by every consumer (docs/protocols/websockets.md) ---
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 64 * 1024)
WS_RATE_PER_SECOND = env_float("WS_RATE_PER_SECOND", 100.0)
WS_RATE_BURST = env_int("WS_RATE_BURST", 200)
# Bytes waiting to be sent to one socket in this process (beyond the kernel's socket
# buffer) before the server closes it as a slow client, 1008 (chatsite/server/websocket_protocol.py).
WS_MAX_SEND_BUFFER_BYTES = env_int("WS_MAX_SEND_BUFFER_BYTES", 1024 * 1024)
# Seconds between keepalive pings of a socket, sent on the whole second together with every
# other socket's due then (chatsite/server/websocket_protocol.py); 0 sends none. uvicorn's default.
WS_PING_INTERVAL = env_float("WS_PING_INTERVAL", 20.0)
# Open sockets per client address in one process; 0 means no limit. Above the chat benchmark's
# 1000 clients from 127.0.0.1, yet it stops one address from exhausting the server's sockets.
WS_MAX_CONNECTIONS_PER_ADDRESS = env_int("WS_MAX_CONNECTIONS_PER_ADDRESS", 2000)
# Browser origins that may open WebSockets, e.g. "https://*.example.com,http://example.com:*", or
# "*" for any; unset, the hosts of ALLOWED_HOSTS on any port and scheme (chatsite/core/origin.py).
WS_ALLOWED_ORIGINS = env_origins("WS_ALLOWED_ORIGINS")

# --- JSON from clients (chatsite/core/client_json.py) ---
# Deepest nesting of arrays and objects taken in a WebSocket frame or an HTTP body; deeper is
# a bad frame (400 over HTTP). Python's parser and encoder recurse once per level, hence the cap.
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
if not 1 <= JSON_MAX_DEPTH <= 200:
    raise ImproperlyConfigured(
        f"JSON_MAX_DEPTH={JSON_MAX_DEPTH} is outside 1-200: set it to the deepest nesting a client needs (default 32)."
    )

# --- Chat (docs/protocols/chat.md) ---
CHAT_MAX_MESSAGE_LENGTH = env_int("CHAT_MAX_MESSAGE_LENGTH", 10500)
CHAT_MAX_MESSAGES_IN_ROOM = env_int("CHAT_MAX_MESSAGES_IN_ROOM", 1024)
# Most messages one `/history?limit=` page may ask for.
CHAT_HISTORY_PAGE_MAX = env_int("CHAT_HISTORY_PAGE_MAX", 1024)
# Most messages stored, or nane names claimed or freed, in one transaction (writer.py, nane_names.py).
CHAT_WRITE_BATCH = env_int("CHAT_WRITE_BATCH", 500)
CHAT_TOKEN_TTL = env_float("CHAT_TOKEN_TTL", 24 * 3600.0)
# Rooms users can make (a message to a new room, `createroom`); past it new rooms are refused.
CHAT_MAX_ROOMS = env_int("CHAT_MAX_ROOMS", 1000)
# Seconds a room may go without a message before the pruning worker deletes it and its history; 0 keeps rooms.
CHAT_ROOM_IDLE_TTL = env_float("CHAT_ROOM_IDLE_TTL", 30 * 24 * 3600.0)
AUTH_CONNECT_WINDOW = env_float("AUTH_CONNECT_WINDOW", 60.0)
KOZMA_URL = env_str("KOZMA_URL", "ws://127.0.0.1:8000")
# The Redis pub/sub channel every web process subscribes to once; deployments sharing one Redis need distinct names.
CHAT_NODES_GROUP = env_str("CHAT_NODES_GROUP", "chat.nodes")
# Each process's two Redis connections for broadcasts (messaging/broker.py): the seconds to connect and
# subscribe, between attempts once lost, and the bytes of publications Redis may leave unread before a
# broadcast reaches this node's clients only (a stalled Redis must not fill the process's memory).
CHAT_NODES_CONNECT_TIMEOUT = env_float("CHAT_NODES_CONNECT_TIMEOUT", 5.0)
CHAT_NODES_RECONNECT_INTERVAL = env_float("CHAT_NODES_RECONNECT_INTERVAL", 0.5)
CHAT_NODES_SEND_BUFFER_BYTES = env_int("CHAT_NODES_SEND_BUFFER_BYTES", 8 * 1024 * 1024)
# A connected token session whose heartbeat is older than this no longer holds its nickname.
CHAT_SESSION_STALE_AFTER = env_float("CHAT_SESSION_STALE_AFTER", 30.0)
CHAT_SESSION_HEARTBEAT_INTERVAL = env_heartbeat(
    "CHAT_SESSION_HEARTBEAT_INTERVAL", "CHAT_SESSION_STALE_AFTER", CHAT_SESSION_STALE_AFTER
)
if CHAT_MAX_MESSAGES_IN_ROOM < 1:
    raise ImproperlyConfigured("CHAT_MAX_MESSAGES_IN_ROOM must be at least 1: rooms keep their newest messages.")
if CHAT_NODES_CONNECT_TIMEOUT <= 0:
    raise ImproperlyConfigured("CHAT_NODES_CONNECT_TIMEOUT must be above 0 seconds.")
if CHAT_NODES_RECONNECT_INTERVAL <= 0:
    raise ImproperlyConfigured("CHAT_NODES_RECONNECT_INTERVAL must be above 0 seconds.")
if CHAT_NODES_SEND_BUFFER_BYTES < 1:
    raise ImproperlyConfigured("CHAT_NODES_SEND_BUFFER_BYTES must be at least 1.")
if CHAT_WRITE_BATCH < 1:
    raise ImproperlyConfigured("CHAT_WRITE_BATCH must be at least 1: it is how many items one transaction takes.")
if CHAT_HISTORY_PAGE_MAX < 1:
    raise ImproperlyConfigured("CHAT_HISTORY_PAGE_MAX must be at least 1: it is the largest `limit` of a history page.")

# --- Signaling (docs/protocols/signaling.md) ---
SIGNALING_STALE_AFTER = env_float("SIGNALING_STALE_AFTER", 30.0)
SIGNALING_HEARTBEAT_INTERVAL = env_heartbeat(
    "SIGNALING_HEARTBEAT_INTERVAL", "SIGNALING_STALE_AFTER", SIGNALING_STALE_AFTER
)
SIGNALING_COOKIE_MAX_AGE = env_int("SIGNALING_COOKIE_MAX_AGE", 30 * 24 * 3600)
# Seconds a registered name is kept without a visit (`/v1/user`, a connection); then anyone may register it.
SIGNALING_USER_IDLE_TTL = env_float("SIGNALING_USER_IDLE_TTL", 7 * 24 * 3600.0)
# The meeting page: how long a call rings before the caller gives up, and how long an accepted
# call may take to connect before the page says it failed (seconds).
SIGNALING_RING_TIMEOUT = env_float("SIGNALING_RING_TIMEOUT", 30.0)
SIGNALING_CONNECT_TIMEOUT = env_float("SIGNALING_CONNECT_TIMEOUT", 20.0)
# STUN and TURN servers the meeting page's calls use (comma-separated stun:/turn:/turns: URLs);
# TURN credentials come from GET /v1/ice-servers, made with coturn's shared secret (signaling/ice.py).
SIGNALING_ICE_SERVERS = env_ice_urls("SIGNALING_ICE_SERVERS")
SIGNALING_TURN_SECRET = env_str("SIGNALING_TURN_SECRET", "")
SIGNALING_TURN_CREDENTIAL_TTL = env_int("SIGNALING_TURN_CREDENTIAL_TTL", 3600)
# "relay" sends every call through the TURN server: peers never learn each other's addresses.
SIGNALING_ICE_TRANSPORT_POLICY = env_str("SIGNALING_ICE_TRANSPORT_POLICY", "all")
env_ice_settings_checked(
    SIGNALING_ICE_SERVERS, SIGNALING_TURN_SECRET, SIGNALING_TURN_CREDENTIAL_TTL, SIGNALING_ICE_TRANSPORT_POLICY
)
if SIGNALING_RING_TIMEOUT <= 0 or SIGNALING_CONNECT_TIMEOUT <= 0:
    raise ImproperlyConfigured("SIGNALING_RING_TIMEOUT and SIGNALING_CONNECT_TIMEOUT must be above 0 seconds.")

# --- Contacts (docs/protocols/contacts.md) ---
CONTACTS_HEARTBEAT_INTERVAL = env_float("CONTACTS_HEARTBEAT_INTERVAL", 5.0)
CONTACTS_READ_TIMEOUT = env_float("CONTACTS_READ_TIMEOUT", 10.0)
CONTACTS_REDIAL_MIN = env_float("CONTACTS_REDIAL_MIN", 0.1)
CONTACTS_REDIAL_MAX = env_float("CONTACTS_REDIAL_MAX", 5.0)
CONTACTS_BATCH_SIZE = env_int("CONTACTS_BATCH_SIZE", 2000)
CONTACTS_QUEUE_SIZE = env_int("CONTACTS_QUEUE_SIZE", 20000)
CONTACTS_PEER_BUFFER_LIMIT = env_int("CONTACTS_PEER_BUFFER_LIMIT", 64 * 1024 * 1024)
CONTACTS_STORE_RETRY_INTERVAL = env_float("CONTACTS_STORE_RETRY_INTERVAL", 1.0)
CONTACTS_CLOCK_LEASE = env_int("CONTACTS_CLOCK_LEASE", 10000)
CONTACTS_TOMBSTONE_TTL = env_float("CONTACTS_TOMBSTONE_TTL", 10 * 24 * 3600.0)
CONTACTS_TOMBSTONE_PURGE_INTERVAL = env_float("CONTACTS_TOMBSTONE_PURGE_INTERVAL", 3600.0)
# A secret every replica of a cluster shares: a peer must prove it in its handshake (contacts/peer_auth.py).
# Unset, a server handshake is accepted from any configured peer's address, as the Go replica does no proof.
CONTACTS_PEER_SECRET = env_str("CONTACTS_PEER_SECRET", "")
# How far a peer's proof may be from this replica's time, in seconds; a proof is used once within it.
CONTACTS_PEER_PROOF_WINDOW = env_float("CONTACTS_PEER_PROOF_WINDOW", 120.0)
