"""Per-DAG-type runtime images: configuration, discovery, build and push."""
