"""Ingest: inbound messages stored verbatim, parsed into notifications or quarantined with reasons."""
