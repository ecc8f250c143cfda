"""TextModel.query_model: the fitted vocabulary, idf and LSA components as numpy arrays (.npz).

Search transforms a query into the catalogue's vector space with them in the web
process, without unpickling scikit-learn (papers/vectors.py, QueryModel). The
current version, if any, gets its arrays here from its pickled model (migrate is
a command: it may load scikit-learn); a version whose model cannot be read keeps
none and search goes without its vector part until the next fit.
"""

import io
import logging
import pickle

from django.db import migrations, models

logger = logging.getLogger(__name__)


def store_query_model(apps, schema_editor):
    TextModel = apps.get_model("papers", "TextModel")
    for version in TextModel.objects.filter(status="current"):
        try:
            import numpy as np

            transform = pickle.loads(bytes(version.model))  # noqa: S301 (written by our own fit)
            vectorizer, svd = transform.vectorizer, transform.svd
        except Exception as exc:  # an unreadable or foreign model: the next fit stores the arrays
            logger.warning("text model v%s: no query model stored (%s)", version.pk, exc)
            continue
        terms = [""] * len(vectorizer.vocabulary_)
        for term, i in vectorizer.vocabulary_.items():
            terms[i] = term
        buffer = io.BytesIO()
        np.savez(
            buffer,
            terms=np.frombuffer("\n".join(terms).encode(), dtype=np.uint8),
            stop_words=np.frombuffer("\n".join(sorted(vectorizer.get_stop_words() or ())).encode(), dtype=np.uint8),
            idf=vectorizer.idf_.astype(np.float32),
            components=np.ascontiguousarray(svd.components_.T, dtype=np.float32),
        )
        version.query_model = buffer.getvalue()
        version.save(update_fields=["query_model"])


class Migration(migrations.Migration):
    dependencies = [("papers", "0009_vectors_and_log_scores")]

    operations = [
        migrations.AddField(
            model_name="textmodel",
            name="query_model",
            field=models.BinaryField(
                default=b"",
                editable=False,
                help_text="Vocabulary, idf and LSA components as numpy arrays (.npz): search transforms queries with them.",
            ),
        ),
        migrations.RunPython(store_query_model, migrations.RunPython.noop),
    ]
