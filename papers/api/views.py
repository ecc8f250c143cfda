"""The account page where readers create and revoke their API tokens (/me/api-tokens/)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ..models import ApiToken
from . import tokens


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """List the reader's tokens; POST creates one and shows its secret this once."""
    new_secret = None
    if request.method == "POST":
        try:
            created = tokens.create_token(user=request.user, name=request.POST.get("name", ""), now=timezone.now())
        except tokens.TokenLimitReached:
            messages.error(request, f"You have {settings.API_TOKENS_PER_READER} tokens: revoke one first.")
        else:
            new_secret = created.secret
    context = {
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_secret": new_secret,
        "limit": settings.API_TOKENS_PER_READER,
    }
    response = render(request, "papers/api_tokens.html", context)
    response["Cache-Control"] = "private, no-store"  # the page may show a secret
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if tokens.revoke_token(user=request.user, token_id=pk):
        messages.success(request, "The token is revoked: requests with it now get 401.")
    return redirect("papers:api_tokens")
