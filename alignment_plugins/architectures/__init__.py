"""Built-in architecture adapters: Hugging Face causal LMs and encoders (torch imported lazily)."""
