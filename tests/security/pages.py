"""Every page type of the site, once, as the person who can see it.

The security tests (CSP, odd query strings, hostile content) run over this list:
a new page type joins it and gets all of them.
"""

# (page type, who looks, path: a format string over the `site` fixture, expected status)
PAGES = [
    ("home", "visitor", "/", 200),
    ("home-period", "visitor", "/?period=day&page=1", 200),
    ("home-reader", "reader", "/", 200),
    ("home-tag-filter", "visitor", "/?tag={site.tag.slug}&period=month", 200),
    ("about", "visitor", "/about/", 200),
    ("for-you", "reader", "/for-you/", 200),
    ("bookmarks", "reader", "/me/bookmarks/", 200),
    ("digest-settings", "reader", "/settings/digest/", 200),
    ("digest-preview", "reader", "/settings/digest/preview/", 200),
    ("unsubscribe", "visitor", "/unsubscribe/{site.unsubscribe_token}/", 200),
    ("unsubscribe-invalid", "visitor", "/unsubscribe/not-a-token/", 400),
    ("trending-feed", "visitor", "/feeds/trending/", 200),
    ("tag-feed", "visitor", "/tags/{site.tag.slug}/feed/", 200),
    ("tag-list", "visitor", "/tags/", 200),
    ("tag", "visitor", "/tags/{site.tag.slug}/", 200),
    ("paper", "visitor", "/papers/{site.paper.arxiv_id}/", 200),
    ("paper-slug", "reader", "/papers/{site.paper_without_arxiv.slug}/", 200),
    ("paper-draft-staff", "staff", "/papers/{site.draft.arxiv_id}/", 200),
    ("search-empty", "visitor", "/search/", 200),
    ("search", "visitor", "/search/?q=negation", 200),
    ("not-found", "visitor", "/papers/no-such-paper/", 404),
    ("login", "visitor", "/accounts/login/", 200),
    ("signup", "visitor", "/accounts/signup/", 200),
    ("password-reset", "visitor", "/accounts/password/reset/", 200),
    ("verification-sent", "visitor", "/accounts/confirm-email/", 200),
    ("email-addresses", "reader", "/accounts/email/", 200),
    ("password-change", "reader", "/accounts/password/change/", 200),
    ("logout", "reader", "/accounts/logout/", 200),
    ("admin-index", "staff", "/admin/", 200),
    ("admin-paper-list", "staff", "/admin/papers/paper/", 200),
    ("admin-paper-change", "staff", "/admin/papers/paper/{site.paper.pk}/change/", 200),
    ("admin-paper-add", "staff", "/admin/papers/paper/add/", 200),
    ("admin-tag-change", "staff", "/admin/papers/tag/{site.tag.pk}/change/", 200),
    ("admin-paper-import", "staff", "/admin/papers/paper/import/", 200),
    ("admin-import-run", "staff", "/admin/papers/paper/import/{site.import_run.pk}/", 200),
    ("admin-attention", "staff", "/admin/papers/paper/attention/", 200),
    ("admin-digest-list", "staff", "/admin/subscriptions/digest/", 200),
    ("admin-tagrule-list", "staff", "/admin/papers/tagrule/", 200),
    ("admin-login", "visitor", "/admin/login/", 200),
]
