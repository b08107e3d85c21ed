"""Helpers the course notebooks import by name: `from rnnlab import plots, data, batching, params, sequences`.

Lessons live in the notebooks; plotting, data and small utilities live here, tested once and
shared by every notebook. Importing has no side effects and never touches the network.
"""
__all__ = ["batching", "data", "params", "plots", "progress", "sequences"]
