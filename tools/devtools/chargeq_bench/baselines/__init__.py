"""Handlers to compare against: the naive "before" job and the Powertools-docs handler."""
