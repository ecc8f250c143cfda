"""Importing papers: one parser per format yields PaperRecords; one upsert service stores them."""
