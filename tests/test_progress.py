"""rnnlab.progress: tqdm under the name notebooks released before the switch to tqdm import."""
import io

import tqdm.auto

from rnnlab.progress import progress


def test_progress_is_tqdm_auto():
    assert progress is tqdm.auto.tqdm


def test_the_calls_the_old_notebooks_make_still_work():
    stream = io.StringIO()
    bar = progress(range(5), desc="training", file=stream)
    seen = []
    for item in bar:
        seen.append(item)
        bar.set_postfix(loss=1.0 / (item + 1))
    assert seen == [0, 1, 2, 3, 4]
    last = stream.getvalue().rstrip("\n").split("\r")[-1].rstrip()
    assert last.startswith("training: 100%|") and "| 5/5 [" in last and last.endswith(", loss=0.2]"), last
