"""Settings for CAIO, read from the environment (see `.env.example`).

Every key is read through `caio.config`, which names the key in the error when
a value is missing or malformed, so a bad deploy stops at start-up with a line
that says what to fix.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

from csp.constants import NONE, SELF
from email_validator import EmailNotValidError, validate_email

from caio.config import Config
from ghl import keys as ghl_keys
from ghl.sandbox.keys import ed25519_key as sandbox_ed25519_key

BASE_DIR = Path(__file__).resolve().parent.parent

config = Config(BASE_DIR / ".env")

DEBUG = config.bool("DEBUG", default=False)

# Keys with no default in production (DEBUG false). Checked together first,
# so a new deployment learns every missing one at once.
PRODUCTION_REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "GHL_TOKEN", "GHL_LOCATION_ID", "GHL_WEBHOOK_ED25519_PUBLIC_KEY")
if not DEBUG:
    config.require(*PRODUCTION_REQUIRED)

# Environment name shown in the admin banner (e.g. demo, staging, production).
CAIO_ENVIRONMENT = config.str("CAIO_ENVIRONMENT", default="local")
# The deployed code's version (an image build sets it, e.g. the commit); empty: a digest of the source.
CAIO_VERSION = config.str("CAIO_VERSION", default="")

# In production the secret key has no default: a missing one must stop start-up.
# The development default is public (it is written here), so anything signed
# with it, such as an unsubscribe link, can be forged: only a development
# checkout and the test suite may run on it. bin/demo makes the demo its own.
PUBLIC_DEVELOPMENT_SECRET_KEY = "insecure-dev-key-only-for-local-use"
SECRET_KEY = config.str("SECRET_KEY", default=PUBLIC_DEVELOPMENT_SECRET_KEY if DEBUG else None)
if not SECRET_KEY.strip():
    config.fail("SECRET_KEY", "is empty")
if not DEBUG and len(SECRET_KEY) < 50:
    config.fail("SECRET_KEY", "must be at least 50 random characters in production")
if SECRET_KEY == PUBLIC_DEVELOPMENT_SECRET_KEY and CAIO_ENVIRONMENT not in {"local", "test"}:
    config.fail("SECRET_KEY", f"is the public development key, which the {CAIO_ENVIRONMENT} environment may not use")

ALLOWED_HOSTS = config.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else None)
CSRF_TRUSTED_ORIGINS = config.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Our apps come first so that our `rqworker` (which checks Redis first) wins.
    "caio",
    "outreach",
    "compliance",
    "ramp",
    "ghl",
    # Django's admin on our site, which checks every changelist's query parameters (caio.admin_site).
    "caio.apps.CaioAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "import_export",
    # Failed logins, counted per account (see AXES_* below).
    "axes",
    # Serves the API docs' Swagger UI from our static files, not a CDN (no traffic off this host).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS and JS) from the web process itself: no
    # separate file server to deploy. Right after SecurityMiddleware, as its docs say.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # GHL's webhook deliveries skip the browser layers below (see its docstring).
    "outreach.inbound.views.WebhookPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Axes checks a login before Django's own backend, and refuses a locked-out account.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "caio.urls"
WSGI_APPLICATION = "caio.wsgi.application"

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
                "caio.context_processors.environment",
                "ramp.context_processors.holds",
            ],
        },
    },
]

DATABASES = {"default": config.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a writer commits; IMMEDIATE transactions take
    # the write lock at BEGIN, so two writers queue instead of failing mid-way.
    # Each request opens a fresh connection with a cold 2 MB page cache; memory-
    # mapping the file (up to 256 MB) reads its pages straight from the OS cache
    # instead of one read() call and copy per page, which on a 100,000-card queue
    # was a quarter of the review desk's database time.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;",
        }
    )
    # Keep each thread's connection between requests: opening one (connect,
    # the PRAGMAs above, Django's SQL functions) costs more CPU than a webhook's queries.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 600)
    # Tests that use real worker processes need a test database on disk;
    # bin/test sets a per-run file so parallel runs never share one.
    if sqlite_test_name := config.str("SQLITE_TEST_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": sqlite_test_name}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Every date-time the admin shows names its zone (caio/formats/en).
FORMAT_MODULE_PATH = ["caio.formats"]
USE_I18N = True
USE_TZ = True
# The operating day (ramp days, sending window, reports) follows this zone.
OPERATING_TIMEZONE = config.timezone("OPERATING_TIMEZONE", default="America/New_York")
# Changing the zone once operating days exist moves the window and "today": start-up refuses
# it unless this names the new zone (ramp.zone records the change; existing days keep their dates).
OPERATING_TIMEZONE_CONFIRMED = config.str("OPERATING_TIMEZONE_CONFIRMED", default="")

STATIC_URL = "static/"
STATIC_ROOT = config.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production posture: files named by their content's hash and compressed,
    # so browsers may cache them for ever. It needs `collectstatic` first (the
    # image runs it when built); a DEBUG checkout serves the app's files as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# Security: production defaults; DEBUG (local demo) relaxes what needs HTTPS.
SECURE_SSL_REDIRECT = config.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = config.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = config.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = config.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A platform's health check calls the process over plain HTTP, without the
# proxy's X-Forwarded-Proto: a redirect there would fail every deploy.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Messages wait in the server-side session, never in a cookie: a new API token's
# raw value is shown once in one, and a secret must not travel in any cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Only our own files run and style the pages: no inline script or style, no other origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Login throttling: 20 wrong passwords for one account lock it for a while,
# from any address (guessing from many addresses must not reset the count).
AXES_FAILURE_LIMIT = config.int("AXES_FAILURE_LIMIT", default=20, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=config.int("AXES_COOLOFF_MINUTES", default=30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the address too, against rotating user agents or cookies; a
# count kept per account alone cannot be reset by either, and an address-wide
# lock would let one person's typos lock out everyone behind the same proxy.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# Unlocked with `manage.py axes_reset_username NAME` (the lockout page says so), not from admin pages of its own.
AXES_ENABLE_ADMIN = False
# Quiet: its start-up line would land in every command's output, `--json` ones included.
AXES_VERBOSE = False
# Never log or store the password tried.
AXES_SENSITIVE_PARAMETERS = ["password"]

# Redis and RQ.
REDIS_URL = config.url("REDIS_URL", default="redis://127.0.0.1:6379/0")
# When true, commands that need Redis stop with one clear line if it is down.
REDIS_REQUIRED = config.bool("REDIS_REQUIRED", default=False)
RQ_DEFAULT_TIMEOUT = 300
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": RQ_DEFAULT_TIMEOUT}
    for name in ("default", "dispatch", "low")
}
RQ_SHOW_ADMIN_LINK = True

# Review queue and gates.
DASHBOARD_AUTH_STRICT = config.bool("DASHBOARD_AUTH_STRICT", default=True)
PENDING_QUEUE_MAX_AGE_HOURS = config.int("PENDING_QUEUE_MAX_AGE_HOURS", default=72, minimum=1)
PREFLIGHT_MAX_AGE_MINUTES = config.int("PREFLIGHT_MAX_AGE_MINUTES", default=30, minimum=1)
REVIEW_FIRST_SLA_MINUTES = config.int("REVIEW_FIRST_SLA_MINUTES", default=30, minimum=1)
REVIEW_DECISION_SLA_MINUTES = config.int("REVIEW_DECISION_SLA_MINUTES", default=120, minimum=1)
# A decision may be undone for this long; until then no claim takes an approved card.
REVIEW_UNDO_SECONDS = config.int("REVIEW_UNDO_SECONDS", default=10, minimum=0)

# GoHighLevel. The default base URL is the local sandbox, so nothing leaves the
# machine unless an operator points it at GHL on purpose.
GHL_SANDBOX_PORT = config.int("GHL_SANDBOX_PORT", default=8765, minimum=1)
GHL_BASE_URL = config.url("GHL_BASE_URL", default=f"http://127.0.0.1:{GHL_SANDBOX_PORT}")
GHL_TOKEN = config.str("GHL_TOKEN", default="sandbox-token" if DEBUG else None)
GHL_LOCATION_ID = config.str("GHL_LOCATION_ID", default="sandboxLocation000001" if DEBUG else None)
# Optional: our marketplace app's id. When set, a webhook delivery naming another appId is refused.
GHL_APP_ID = config.str("GHL_APP_ID", default="")
GHL_CONNECT_TIMEOUT = config.float("GHL_CONNECT_TIMEOUT", default=3.05)
GHL_READ_TIMEOUT = config.float("GHL_READ_TIMEOUT", default=15.0)
# GHL's published limit is 100 requests / 10 s per location; we keep headroom.
GHL_RATE_LIMIT_REQUESTS = config.int("GHL_RATE_LIMIT_REQUESTS", default=90, minimum=1)
GHL_RATE_LIMIT_WINDOW_SECONDS = config.float("GHL_RATE_LIMIT_WINDOW_SECONDS", default=10.0)
# GHL signs webhooks with Ed25519 only (x-ghl-signature) since July 2026: without
# this key every delivery is refused and GHL drops it, so production cannot start
# without it. PEM, or the raw 32-byte key in base64 or hex (as GHL's SDK takes it).
GHL_WEBHOOK_ED25519_PUBLIC_KEY = config.str("GHL_WEBHOOK_ED25519_PUBLIC_KEY", default="" if DEBUG else None)
if GHL_WEBHOOK_ED25519_PUBLIC_KEY.strip():
    try:
        _webhook_key = ghl_keys.load_ed25519_public_key(GHL_WEBHOOK_ED25519_PUBLIC_KEY)
    except ghl_keys.PublicKeyError as exc:
        config.fail("GHL_WEBHOOK_ED25519_PUBLIC_KEY", str(exc))
    # The sandbox's key is public (derived from a seed written in the code): anyone could sign with it.
    if not DEBUG and ghl_keys.raw_ed25519(_webhook_key) == ghl_keys.raw_ed25519(sandbox_ed25519_key().public_key()):
        config.fail("GHL_WEBHOOK_ED25519_PUBLIC_KEY", (
            "is the GHL sandbox's default public key, which anyone can sign with: give your GHL app's key "
            "(.env.example says where), or for a sandbox deployment run the sandbox with a --seed of your own "
            "and give its --print-public-key"
        ))
elif not DEBUG:
    config.fail("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "is empty; production needs the key of your GHL app (see .env.example)")
# Legacy x-wh-signature (RSA), which GHL no longer sends: accepted only when a key is set here, never by default.
GHL_WEBHOOK_RSA_PUBLIC_KEY = config.str("GHL_WEBHOOK_RSA_PUBLIC_KEY", default="")
if GHL_WEBHOOK_RSA_PUBLIC_KEY.strip():
    try:
        ghl_keys.load_rsa_public_key(GHL_WEBHOOK_RSA_PUBLIC_KEY)
    except ghl_keys.PublicKeyError as exc:
        config.fail("GHL_WEBHOOK_RSA_PUBLIC_KEY", str(exc))
# GHL redelivers the same signed body only after a 429, up to 6 times ~10 minutes
# apart (~70 minutes in all): the window must outlast that schedule, or the
# redelivery we asked for is refused as stale and the event is lost. Replays
# inside it are stopped by the webhookId dedupe.
GHL_WEBHOOK_MAX_AGE_SECONDS = config.int("GHL_WEBHOOK_MAX_AGE_SECONDS", default=90 * 60, minimum=1)

# The webhook intake gate (preflight P11): sends with no webhook event at all back within
# this many minutes mean GHL's events are not reaching us (a wrong key, a wrong URL).
WEBHOOK_SILENCE_MINUTES = config.int("WEBHOOK_SILENCE_MINUTES", default=180, minimum=1)
# Refused deliveries recorded per minute; the rest of a flood is only counted.
WEBHOOK_REFUSALS_PER_MINUTE = config.int("WEBHOOK_REFUSALS_PER_MINUTE", default=60, minimum=1)

# Sender identity and the canonical footer (CAN-SPAM needs a postal address).
SENDER_NAME = config.str("SENDER_NAME", default="The CAIO team")
# The name goes into every email's From header: a line break there would add headers of its own.
if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in SENDER_NAME):
    config.fail("SENDER_NAME", "contains a line break or control character, which could add mail headers to every email")
# The From address of a campaign that names none of its own (GHL's emailFrom).
SENDER_EMAIL = config.str("SENDER_EMAIL", default="outreach@caio.example")
try:
    # The From address of every campaign without its own: read as every address here is (email-validator, IDNA 2008).
    validate_email(SENDER_EMAIL, check_deliverability=False, test_environment=True)
except EmailNotValidError as exc:
    config.fail("SENDER_EMAIL", f"is not an email address we can send from: {exc}")
SENDER_POSTAL_ADDRESS = config.str("SENDER_POSTAL_ADDRESS", default="100 Example Street, Suite 1, Austin, TX 78701")
OPT_OUT_LINE = config.str("OPT_OUT_LINE", default="Reply STOP to unsubscribe.")
# Public base URL of this site, used in the unsubscribe link of every email.
PUBLIC_BASE_URL = config.url("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# Escalation of failed gates and new holds (optional).
SLACK_WEBHOOK_URL = config.str("SLACK_WEBHOOK_URL", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.str("LOG_LEVEL", default="INFO")},
    "loggers": {"urllib3": {"level": "WARNING"}, "httpx2": {"level": "WARNING"}},
}

# django-import-export lets any staff user export or import any list unless it
# is told which model permission each takes: exporting a list is viewing it,
# importing rows is adding them.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"

# Lead imports: a confirmed file with more rows than this is imported by an RQ
# job on LEAD_IMPORT_QUEUE (one the demo's worker listens to) while the page
# shows its progress; smaller files are imported in the request.
LEAD_IMPORT_BACKGROUND_ROWS = config.int("LEAD_IMPORT_BACKGROUND_ROWS", default=1000, minimum=0)
LEAD_IMPORT_QUEUE = "default"
# Rows written per transaction, and so per progress update.
LEAD_IMPORT_CHUNK_ROWS = config.int("LEAD_IMPORT_CHUNK_ROWS", default=500, minimum=1)

# The model drafter (outreach.drafting.model): any OpenAI-compatible chat
# endpoint, hosted or self-hosted. The default is the local model sandbox
# (`manage.py model_sandbox`), so nothing is sent off this machine unless an
# operator points MODEL_BASE_URL elsewhere on purpose. The key comes from the
# environment only and is never logged or shown.
MODEL_SANDBOX_PORT = config.int("MODEL_SANDBOX_PORT", default=8766, minimum=1)
MODEL_BASE_URL = config.url("MODEL_BASE_URL", default=f"http://127.0.0.1:{MODEL_SANDBOX_PORT}/v1")
MODEL_NAME = config.str("MODEL_NAME", default="caio-sandbox-1")
MODEL_API_KEY = config.str("MODEL_API_KEY", default="sandbox-key")
# Seconds one model request may take before it counts as an outage for that lead.
MODEL_TIMEOUT = config.float("MODEL_TIMEOUT", default=30.0)
# Retries of a draft that breaks the output contract, each told the reasons (then a drafting error).
MODEL_MAX_RETRIES = config.int("MODEL_MAX_RETRIES", default=2, minimum=0)
# Prices in USD per million tokens; the cost recorded on each card and counted against the budget.
MODEL_PRICE_INPUT_PER_MTOK = config.float("MODEL_PRICE_INPUT_PER_MTOK", default=0.15)
MODEL_PRICE_OUTPUT_PER_MTOK = config.float("MODEL_PRICE_OUTPUT_PER_MTOK", default=0.60)
# USD a day of model drafting may cost (0: no model drafting); reached, drafting stops with a message.
MODEL_DAILY_BUDGET = config.float("MODEL_DAILY_BUDGET", default=5.0)
# Model requests in flight at once for one drafting run.
MODEL_CONCURRENCY = config.int("MODEL_CONCURRENCY", default=4, minimum=1)
# A model-drafted body longer than this many words is refused (a cold email is read in seconds).
MODEL_BODY_MAX_WORDS = config.int("MODEL_BODY_MAX_WORDS", default=180, minimum=20)
# Drafting runs (outreach.drafting.runs) go to this queue, one the demo's worker listens to.
DRAFTING_QUEUE = "default"
