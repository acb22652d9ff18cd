"""One folder per source (assets, schemas, checks), loaded by `load_from_defs_folder`."""
