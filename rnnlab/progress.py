"""Kept so that notebooks released before the course switched to tqdm still run: `progress` is tqdm.

The course's notebooks now import the library itself, as a learner would in their own code:

    from tqdm.auto import tqdm
    bar = tqdm(range(epochs), desc="training")
    for epoch in bar:
        ...                                   # one epoch
        bar.set_postfix(loss=mean_loss)       # shown at the end of the bar

`tqdm.auto` draws a widget in JupyterLab (ipywidgets is installed) and a text bar on standard error
elsewhere; tests/cell_errors.py tells such a bar from an error in the notebook tests.
"""
from tqdm.auto import tqdm as progress

__all__ = ["progress"]
