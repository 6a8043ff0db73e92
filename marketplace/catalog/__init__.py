"""Catalog app: architectures, vector listings, purchases, accounts and the AMEM ledger, API keys."""
