"""The daily run: its job, its schedule, and the published copy it ends with."""
