"""Brevo, the second provider: its ingest asset, raw tables and pull plan (lib/brevo: client)."""
