"""Alerts: telling people when a campaign goes wrong."""
