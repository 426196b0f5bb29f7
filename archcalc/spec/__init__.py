"""From YAML text to a validated spec: source positions, expressions, blocks, the pydantic models, the schema."""
