"""Example feature repos and their data generators (``fsnb.examples.banking``)."""
