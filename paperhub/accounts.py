"""allauth's adapter: the same client address as every other limit (paperhub.clientip)."""

from allauth.account.adapter import DefaultAccountAdapter

from .clientip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        return client_ip(request)
