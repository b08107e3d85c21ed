"""Command line: `python -m autograder grade NOTEBOOK.ipynb` and `python -m autograder grade-class SUBMITTED_DIR`.

Exit status: 0 when grading completed (whatever the scores), 2 when the input cannot be graded
(one line on stderr), 1 when the grader itself failed (one line on stderr).
"""
from __future__ import annotations

import argparse
import os
import sys

from .notebooks import GradingInputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one notebook and print a per-test report")
    g.add_argument("notebook", help="the submitted .ipynb file")
    g.add_argument("--json", metavar="OUT", help="also write the result as Gradescope results.json")
    g.add_argument("--assignment", help="assignment name, when the path does not tell (e.g. 01_recurrence)")
    g.add_argument("--solutions", metavar="DIR", help="solution notebooks (default: ./solutions/ when run from a course folder with its nbgrader_config.py, else this repository's)")
    g.add_argument("--timeout", type=float, default=300.0, help="wall-time limit for the notebook, s (default 300)")
    g.add_argument("--quiet", action="store_true", help="print only the table, no failure details")
    c = sub.add_parser("grade-class", help="grade a folder of submissions <student>/<assignment>/<notebook>.ipynb "
                                           "in parallel; write results, a CSV gradebook, nbgrader's gradebook and feedback")
    c.add_argument("submitted", help="nbgrader's submitted/ folder (or any folder laid out the same way)")
    c.add_argument("--out", metavar="DIR", help="where results/ and class-grades.csv go (default: grading/)")
    c.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: CPU cores)")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a running Dask cluster instead of this machine (e.g. tcp://host:8786); "
                        "results, CSV, gradebook and feedback are written here as usual")
    c.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    c.add_argument("--solutions", metavar="DIR", help="solution notebooks (default: ./solutions/ when run from a course folder with its nbgrader_config.py, else this repository's)")
    c.add_argument("--timeout", type=float, default=300.0, help="wall-time limit per notebook, s (default 300)")
    c.add_argument("--no-gradebook", action="store_true",
                   help="do not record scores in nbgrader's gradebook nor write HTML feedback")
    c.add_argument("--force", action="store_true", help="grade everything again, even unchanged submissions")
    c.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv=None) -> int:
    from .classgrade import ClusterError
    from .grade import AuthoringError

    args = build_parser().parse_args(argv)
    try:
        return _run_class(args) if args.command == "grade-class" else _run(args)
    except GradingInputError as exc:
        print(f"cannot grade: {exc}", file=sys.stderr)
        return 2
    except AuthoringError as exc:
        print(f"grader error (a course bug, not the submission's): {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ClusterError as exc:  # the Dask cluster is out of reach or went away (grade-class --scheduler)
        print(f"grade-class: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for users; AUTOGRADER_DEBUG=1 shows it
        if os.environ.get("AUTOGRADER_DEBUG"):
            raise
        print(f"grader error: {type(exc).__name__}: {exc} (set AUTOGRADER_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _run(args) -> int:
    from .grade import Limits, grade_notebook
    from .report import text_report, write_json

    result = grade_notebook(args.notebook, assignment=args.assignment, solutions_dir=args.solutions,
                            limits=Limits(notebook_timeout=args.timeout))
    print(text_report(result, verbose=not args.quiet))
    if args.json:
        try:
            write_json(result, args.json)
        except OSError as exc:
            print(f"cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    return 0


def _run_class(args) -> int:
    from .classgrade import grade_class, summary_text
    from .grade import Limits

    summary = grade_class(args.submitted, out=args.out, workers=args.workers, assignments=args.assignment,
                          solutions=args.solutions, limits=Limits(notebook_timeout=args.timeout),
                          gradebook=not args.no_gradebook, force=args.force, quiet=args.quiet,
                          scheduler=args.scheduler)
    print(summary_text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
