"""Hypothesis state machines that drive API calls and device conditions against a target."""
