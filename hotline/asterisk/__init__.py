"""Provisioning of the Asterisk this engine drives: install, render, run."""
