"""The README's Python example runs as shown (its ```python block, executed as a script)."""
import os
import re


def test_the_readme_python_block_runs(capsys):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    text = open(os.path.join(root, "README.md")).read()
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) == 1, "README.md should show one Python example"
    exec(compile(blocks[0], "README.md (python block)", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "(array(" in out, out  # user -> its best tag: a (D, I) pair was printed
