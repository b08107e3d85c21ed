"""Helpers the course notebooks import by name: `from rnnlab import plots, data, batching, params, sequences`.

`explorer` steps a trained nn.RNN or nn.GRU through a sequence in JupyterLab (ipywidgets), with a
static picture where widgets cannot run. `revision` holds the quizzes and "explain" prompts of the
ungraded revision notebooks (course/revision/).

Lessons live in the notebooks; plotting, data and small utilities live here, tested once and
shared by every notebook. Importing has no side effects and never touches the network.
"""
__all__ = ["batching", "data", "explorer", "params", "plots", "progress", "revision", "sequences"]
