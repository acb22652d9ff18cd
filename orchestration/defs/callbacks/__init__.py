"""Callbacks landed by the receiver, loaded into the warehouse."""
