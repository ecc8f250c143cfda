"""WSGI entry point (gunicorn paperhub.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
application = get_wsgi_application()
