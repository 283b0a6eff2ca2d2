"""Op definitions: one module per family, each registering its ops in the registry."""
