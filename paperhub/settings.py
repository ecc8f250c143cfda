"""
paperhub settings: every value comes from the environment (django-environ).

Each variable has a development default so that `make run` works on a fresh
clone with no server running: SQLite in var/, kombu's filesystem broker in
var/broker/, emails written as .eml files to var/mail/. docs/settings.md documents
each variable and the production values.
"""

import secrets
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("PAPERHUB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _prepare_threshold(value: str) -> int | None:
    """DJANGO_PREPARE_THRESHOLD: a whole number of runs, or `off`."""
    value = value.strip().lower()
    if value == "off":
        return None
    if not value.isdigit():
        raise ImproperlyConfigured(f"DJANGO_PREPARE_THRESHOLD must be a whole number or off, not {value!r}.")
    return int(value)


def _secret_key() -> str:
    """The configured key, or in development one generated once into var/."""
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG off paperhub refuses to start without a real secret key."
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# `make run` (paperhub/devrun.py) records the address it serves in var/site_url, so that a command run
# beside it (`manage.py send_digests --force`) links to the same server when SITE_URL is unset.
RUN_SITE_URL_FILE = VAR_DIR / "site_url"
_run_site_url = RUN_SITE_URL_FILE.read_text().strip() if RUN_SITE_URL_FILE.exists() else ""
SITE_URL = env.str("SITE_URL", default=_run_site_url or "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",
    "paperhub",
    "papers",
    "subscriptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware with the user read from the cache (paperhub/authentication.py).
    "paperhub.authentication.CachedUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns django-ratelimit's Ratelimited into RATELIMIT_VIEW's 429 answer.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Innermost, so that its 400 still passes the CSP and security middleware above.
    "paperhub.middleware.RejectOddRequestsMiddleware",
]

ROOT_URLCONF = "paperhub.urls"
WSGI_APPLICATION = "paperhub.wsgi.application"

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

# --- Database -------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paperhub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file in development: WAL lets readers and
    # one writer work side by side, IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that polls the socket instead of a `SELECT 1` per request.
    DATABASES["default"]["ENGINE"] = "paperhub.db.postgresql"
    # Parameters bound by the server, and a statement a connection runs again and again (a paper page's,
    # a reader's state, an upvote's score refresh) prepared after its fifth run: parsed once, and planned
    # once where PostgreSQL finds the generic plan as good. Django turns preparing off by default (for
    # transaction-pooling PgBouncer): DJANGO_PREPARE_THRESHOLD=off does too (docs/settings.md).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = _prepare_threshold(env.str("DJANGO_PREPARE_THRESHOLD", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://paperhub")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis down degrades to rendering and counting, never to a 500 (paperhub/cache.py).
    CACHES["default"]["BACKEND"] = "paperhub.cache.ResilientRedisCache"

# --- Auth (django-allauth) -------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Adds the browser's timezone (a hidden field) to sign-up, stored with the new reader's digest settings.
ACCOUNT_SIGNUP_FORM_CLASS = "subscriptions.forms.SignupTimezoneForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[paperhub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# Links in account emails from SITE_URL (never the request's Host), the site called "paperhub", readers named
# by their email address (paperhub/accounts.py).
ACCOUNT_ADAPTER = "paperhub.accounts.AccountAdapter"
ACCOUNT_USER_DISPLAY = "paperhub.accounts.user_display"
# allauth's own limits (allauth keeps its counters in the default cache: see CACHE_URL).
# "ip" counts per client address, "key" per email address asked about.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
ACCOUNT_ADAPTER = "paperhub.accounts.AccountAdapter"
# How many proxies in front of gunicorn append to X-Forwarded-For (the TLS proxy of
# docs/deployment.md is one). 0: X-Forwarded-For is ignored and the client is REMOTE_ADDR.
# Every limit keyed on the client address reads it through paperhub.clientip.client_ip.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# A reader's reactions (upvote, bookmark, follow): papers/rate_limits.py, django-ratelimit's
# @ratelimit with one group for all three. "N/s|m|h|d" (or "N/5m"), or "off".
READER_RATE_LIMIT = env.str("READER_RATE_LIMIT", default="60/m")
RATELIMIT_IP_META_KEY = "paperhub.clientip.client_ip"
RATELIMIT_VIEW = "papers.rate_limits.too_many_requests"
# When the cache holding the counts is unreachable, let requests through (a reaction still works).
RATELIMIT_FAIL_OPEN = True
# Views that score many papers for one request (the digest preview): every request (GET too)
# counts, in its own group (papers/rate_limits.py expensive_limit). "N/s|m|h", or "off".
DIGEST_PREVIEW_RATE_LIMIT = env.str("DIGEST_PREVIEW_RATE_LIMIT", default="6/m")

# --- Email -----------------------------------------------------------------

EMAIL_URL = env.str("EMAIL_URL", default=f"eml://{VAR_DIR / 'mail'}")
if EMAIL_URL.startswith("eml://"):
    # Development: one .eml file per message, readable by any mail client.
    EMAIL_BACKEND = "paperhub.mail.EmlFileBackend"
    EMAIL_FILE_PATH = EMAIL_URL.removeprefix("eml://") or str(VAR_DIR / "mail")
else:
    vars().update(env.email_url_config(EMAIL_URL))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="paperhub <digest@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Optional mailto: address offered in List-Unsubscribe beside the https URL.
DIGEST_UNSUBSCRIBE_MAILTO = env.str("DIGEST_UNSUBSCRIBE_MAILTO", default="")
# A temporary SMTP error retries a digest chunk after DELAY, 2*DELAY, 4*DELAY... seconds, then fails it.
DIGEST_RETRY_DELAY = env.int("DIGEST_RETRY_DELAY", default=60)
DIGEST_MAX_RETRIES = env.int("DIGEST_MAX_RETRIES", default=5)
# How many searches a reader may follow (each is a digest section, matched at every dispatch).
SAVED_SEARCHES_PER_READER = env.int("SAVED_SEARCHES_PER_READER", default=10)

# --- Celery ----------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
# A task is acknowledged only once it finished, and redelivered if its worker
# died: the database (unique rows, conditional updates) makes reruns harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Catalogue -------------------------------------------------------------

ARXIV_CATEGORIES = env.list("ARXIV_CATEGORIES", default=["cs.CL", "cs.IR", "cs.LG"])
# The arXiv API (the `arxiv` client): endpoint, seconds between requests (arXiv asks for 3), request
# timeout, and how many of the newest papers the daily import fetches.
ARXIV_API_URL = env.str("ARXIV_API_URL", default="https://export.arxiv.org/api/query")
ARXIV_API_DELAY_SECONDS = env.float("ARXIV_API_DELAY_SECONDS", default=3.0)
ARXIV_API_TIMEOUT_SECONDS = env.float("ARXIV_API_TIMEOUT_SECONDS", default=30.0)
ARXIV_DAILY_MAX = env.int("ARXIV_DAILY_MAX", default=200)
# Readers' contributions (docs/contributions.md).
SUBMISSIONS_PER_DAY = env.int("SUBMISSIONS_PER_DAY", default=10)
COMMENT_MAX_LENGTH = env.int("COMMENT_MAX_LENGTH", default=5000)
COMMENT_EDIT_MINUTES = env.int("COMMENT_EDIT_MINUTES", default=15)
COMMENTS_NEED_APPROVAL = env.int("COMMENTS_NEED_APPROVAL", default=1)
COMMENT_RATE_LIMIT = env.str("COMMENT_RATE_LIMIT", default="20/h")
# The admin's "Import papers" page refuses uploads above this many megabytes (before reading them).
IMPORT_UPLOAD_MAX_MB = env.int("IMPORT_UPLOAD_MAX_MB", default=300)

# --- JSON API (papers/api/, docs/api.md) ----------------------------------------

# Requests per client (address without a token, reader with one) per window: "N/s", "N/m", "N/h", or "off".
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/m")
# How long the public catalogue endpoints' answers are cached, per URL.
API_CACHE_SECONDS = env.int("API_CACHE_SECONDS", default=60)
API_TOKENS_PER_READER = env.int("API_TOKENS_PER_READER", default=10)
# The API's per-address limit reads the client address like every other limit (TRUSTED_PROXY_COUNT).
NINJA_NUM_PROXIES = TRUSTED_PROXY_COUNT

# --- Static files ----------------------------------------------------------

# Uploads waiting for their import task. Every Celery worker must see the same folder (a shared volume).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Internationalisation --------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
# The site is in English only (no LocaleMiddleware, no catalogues of ours), so Django's translation
# machinery is off: with it on, every "3 days ago" on a page looked its plural up in each installed
# app's catalogue (Django's, allauth's, ...), a tenth of a cold paper page's CPU.
USE_I18N = False
USE_TZ = True

# --- Security (production) -------------------------------------------------

# Content Security Policy (django-csp 4): every script and stylesheet is a
# static file of our own, so no page needs 'unsafe-inline' or 'unsafe-eval'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Sessions read from the cache (written through to the database): a logged-in page costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
