"""Answer stubs that let a fresh student notebook run top to bottom (Run All), for `make course`.

nbgrader replaces every `### BEGIN SOLUTION ... ### END SOLUTION` region with one stub,
`raise NotImplementedError()`. Inside a function body that is right: the function exists and raises
only when called, and the test cell that calls it reports it. A region at the top level of a cell
(a multiple-choice letter, a value to compute) would raise as soon as the cell runs, and JupyterLab's
Run All stops there: every later demo, figure and test stays unrun.

`ClearSolutionsForRunAll` keeps nbgrader's stub for indented regions and gives a top-level region a
stub that binds each name the solution binds to `...` (Ellipsis), the placeholder otter-grader and
many courses use:

    # YOUR ANSWER HERE: replace each ... with your answer
    mcq_rnn_purpose = ...

The test cell then says "not answered yet" (autograder.check.evaluate), in a learner's kernel as in
the grader. A top-level region that binds no name becomes the comment alone. nbgrader_config.py puts
this class in place of ClearSolutions in `GenerateAssignment.preprocessors`.
"""
from __future__ import annotations

import ast
import re

from nbgrader.preprocessors import ClearSolutions

TOP_LEVEL_COMMENT = "# YOUR ANSWER HERE: replace each ... with your answer"
NO_NAME_COMMENT = "# YOUR CODE HERE"


def bound_names(code: str) -> list[str]:
    """The names a block of top-level code binds, in order of first binding (assignments, defs,
    classes, imports, for-loop and with targets)."""
    names: list[str] = []

    def add(target):
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add(element)
        elif isinstance(target, ast.Starred):
            add(target.value)

    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                add(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)):
            add(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(ast.Name(node.name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                add(ast.Name(alias.asname or alias.name.split(".")[0]))
        elif isinstance(node, ast.With):
            for item in node.items:
                if item.optional_vars is not None:
                    add(item.optional_vars)
    return names


def top_level_stub(solution: str) -> list[str]:
    try:
        names = bound_names(solution)
    except SyntaxError as exc:
        raise RuntimeError(f"a top-level solution region is not valid Python ({exc}):\n{solution}") from exc
    if not names:
        return [NO_NAME_COMMENT]
    return [TOP_LEVEL_COMMENT] + [f"{name} = ..." for name in names]


class ClearSolutionsForRunAll(ClearSolutions):
    """nbgrader's ClearSolutions, with a stub for top-level code regions that does not raise."""

    def _replace_solution_region(self, cell, language):
        if cell.cell_type != "code" or language != "python":
            return super()._replace_solution_region(cell, language)
        lines = cell.source.split("\n")
        kept, region, indent, replaced = [], None, "", False
        stub = self.code_stub[language].split("\n")
        for line in lines:
            if self.begin_solution_delimeter in line:
                if region is not None:
                    raise RuntimeError("encountered nested begin solution statements")
                region, indent, replaced = [], re.match(r"\s*", line).group(0), True
            elif self.end_solution_delimeter in line and region is not None:
                body = top_level_stub("\n".join(region)) if indent == "" else stub
                kept.extend(indent + stub_line for stub_line in body)
                region = None
            elif region is not None:
                region.append(line)
            else:
                kept.append(line)
        if region is not None:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(kept)
        return replaced
