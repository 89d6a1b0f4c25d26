"""See DESIGN.md, "Layers"."""
