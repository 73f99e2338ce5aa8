"""Outbound network safety shared by pipelines and providers."""
