"""Form pieces of the catalogue admin: arXiv categories edited as tokens, not as a JSON list."""

import re

from django import forms

# arXiv categories: cs.CL, math.AP, q-bio.NC, hep-th, physics.optics, astro-ph.GA, ...
CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
MAX_CATEGORIES = 20


class CategoriesWidget(forms.Widget):
    """Each category as a token (a checkbox, ticked: untick to remove it) and a box to add more.

    Works without script: the form posts the ticked tokens under the field's
    name and the new ones, separated by spaces or commas, under NAME_add.
    """

    # In the app (the form renderer reads app templates, not the project folder).
    template_name = "papers/widgets/categories.html"

    def format_value(self, value):
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        return list(value or [])

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["tokens"] = [
            {"value": token, "id": f"{context['widget']['attrs'].get('id', name)}_{i}"}
            for i, token in enumerate(self.format_value(value))
        ]
        return context

    def value_from_datadict(self, data, files, name):
        kept = data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
        added = (data.get(f"{name}_add") or "").replace(",", " ").split()
        return [*kept, *added]

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}_add" not in data

    def id_for_label(self, id_):
        return f"{id_}_add" if id_ else id_


class CategoriesField(forms.Field):
    """A list of arXiv categories, primary first, without duplicates."""

    widget = CategoriesWidget

    def to_python(self, value):
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        return list(dict.fromkeys(token.strip() for token in value if token and token.strip()))

    def validate(self, value):
        super().validate(value)
        bad = [token for token in value if not CATEGORY.fullmatch(token) or len(token) > 32]
        if bad:
            raise forms.ValidationError(
                "Not an arXiv category: %(bad)s (categories look like cs.CL or hep-th).",
                params={"bad": ", ".join(bad[:5])},
                code="invalid_category",
            )
        if len(value) > MAX_CATEGORIES:
            raise forms.ValidationError(f"At most {MAX_CATEGORIES} categories.", code="too_many")
