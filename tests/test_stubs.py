"""The answer stubs of `make course` (autograder/stubs.py): a fresh notebook runs top to bottom."""
import pytest
from nbformat.v4 import new_code_cell

from autograder.stubs import NO_NAME_COMMENT, TOP_LEVEL_COMMENT, ClearSolutionsForRunAll, bound_names


@pytest.mark.parametrize("code,names", [
    ('mcq_a = "B"', ["mcq_a"]),
    ('a = "B"\nb = {"A", "C"}\na = "C"', ["a", "b"]),
    ("x, (y, *z) = 1, (2, 3)", ["x", "y", "z"]),
    ("total: float = 0.5\ncount += 1", ["total", "count"]),
    ("def helper(q):\n    inner = 1\n    return q\nclass Model:\n    pass", ["helper", "Model"]),
    ("import numpy as np\nfrom math import pi\nimport os.path", ["np", "pi", "os"]),
    ("for i in range(3):\n    seen = i\nwith open(__file__) as handle:\n    pass", ["i", "handle"]),
    ("print('no binding')\nobj.attr = 1\nitems[0] = 2", []),
    ("a = b = 3", ["a", "b"]),
])
def test_bound_names(code, names):
    assert bound_names(code) == names


def stubbed(source):
    cell = new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "x",
                                                        "locked": False, "schema_version": 3}})
    ClearSolutionsForRunAll()._replace_solution_region(cell, "python")
    return cell.source


def test_a_top_level_region_binds_each_name_to_ellipsis_and_keeps_the_rest():
    source = '# pick one letter\n### BEGIN SOLUTION\nmcq_a = "B"\nchoices = {"A"}\n### END SOLUTION\nprint("done")'
    assert stubbed(source) == f'# pick one letter\n{TOP_LEVEL_COMMENT}\nmcq_a = ...\nchoices = ...\nprint("done")'
    namespace = {}
    exec(stubbed(source), namespace)  # runs: nothing raises
    assert namespace["mcq_a"] is ... and namespace["choices"] is ...


def test_a_region_inside_a_function_keeps_nbgrader_stub():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"
    assert stubbed(source) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


def test_a_top_level_region_binding_nothing_becomes_a_comment():
    assert stubbed("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION") == NO_NAME_COMMENT


@pytest.mark.parametrize("source,message", [
    ("### BEGIN SOLUTION\na = 1\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
    ("### BEGIN SOLUTION\na = 1", "no end solution"),
    ("### BEGIN SOLUTION\na = (\n### END SOLUTION", "not valid Python"),
])
def test_a_broken_region_stops_the_build_naming_the_problem(source, message):
    with pytest.raises(RuntimeError, match=message):
        stubbed(source)


def test_generate_assignment_uses_these_stubs():
    """nbgrader_config.py swaps ClearSolutions for ClearSolutionsForRunAll in generate_assignment."""
    from traitlets.config import PyFileConfigLoader

    from conftest import ROOT

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    chain = config.GenerateAssignment.preprocessors
    assert ClearSolutionsForRunAll in chain and not any(p.__name__ == "ClearSolutions" for p in chain)
