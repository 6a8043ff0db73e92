"""Management commands of the alignment app."""
