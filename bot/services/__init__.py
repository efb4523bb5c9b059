"""Use cases: the only place that joins dialogs, storage and nlp."""
