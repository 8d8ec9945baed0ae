"""Acquisition sources (ZeroMQ DAQ feed, soundcard, files) and the DAQ-side publisher."""
