"""The course's autograder: grades notebooks against the tests in solutions/, outside the student's process.

Entry points: `python -m autograder grade NOTEBOOK.ipynb [--json OUT]`; test cells use
`autograder.check.Check`.
"""
__version__ = "0.1.0"
