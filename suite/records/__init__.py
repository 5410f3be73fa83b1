"""Records: one self-contained, schema-validated JSON file per run."""
