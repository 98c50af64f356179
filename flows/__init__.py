"""Prefect flows, deployment entry points and the command line."""
