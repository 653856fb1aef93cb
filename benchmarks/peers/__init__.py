"""Peers of the drift benchmark: the naive scipy loop and the Evidently driver and runner."""
