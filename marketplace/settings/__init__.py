"""Settings split: base (shared), local (embedded defaults), test, production (from the environment)."""
