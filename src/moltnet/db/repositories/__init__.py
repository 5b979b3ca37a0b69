"""Repositories: all SQL of the service, one module per domain."""
