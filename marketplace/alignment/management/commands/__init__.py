"""manage.py commands: register_models, precompute_support_matrix, check_drift, demo."""
