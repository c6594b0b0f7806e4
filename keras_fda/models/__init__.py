"""Example BNN architectures."""
