"""Marketplace backend: Django project around the alignment engine."""
