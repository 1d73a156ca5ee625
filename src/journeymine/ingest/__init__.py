"""Importers: every source becomes batches of events, objects and links for ``Store.load``."""
