"""castsmith: build and keep libraries of consistent AI characters."""

__version__ = "0.1.0"
