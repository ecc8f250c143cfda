"""`make bench`: paperhub measured at scale against its own floors. Never run by `make test` or CI."""
