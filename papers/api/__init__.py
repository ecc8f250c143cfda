"""The public JSON API under /api/ (django-ninja): catalogue endpoints, a reader's bookmarks and reactions.

`main.py` builds the NinjaAPI (schema at /api/schema, docs at /api/docs, JSON
errors, throttling); `catalogue.py` and `reader.py` are its routers;
`shapes.py` turns papers into Hugging Face daily-papers JSON; `tokens.py`
creates, checks and revokes personal tokens; `views.py` is the account page
where readers manage them. See docs/api.md.
"""
