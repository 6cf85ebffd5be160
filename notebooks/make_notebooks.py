"""Generate `notebooks/*.ipynb` from the tutobook sources in `notebooks/src/`.

A source is Python with a header docstring and markdown in bare triple-quoted
strings between code blocks (the keras.io "tutobook" shape). Outputs are not
stored. Run: `python notebooks/make_notebooks.py`.
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
_BLOCK = re.compile(r'^"""\n(.*?)\n"""\n', re.S | re.M)


def tutobook_to_cells(text):
    cells, position = [], 0
    for match in _BLOCK.finditer(text):
        code = text[position : match.start()].strip("\n")
        if code:
            cells.append(("code", code))
        body = match.group(1)
        if position == 0 and body.startswith("Title:"):
            header = dict(
                line.split(": ", 1)
                for line in body.splitlines()
                if ": " in line
            )
            body = f"# {header['Title']}\n\n" + "\n".join(
                f"**{key}:** {value}  "
                for key, value in header.items()
                if key != "Title"
            )
        cells.append(("markdown", body))
        position = match.end()
    tail = text[position:].strip("\n")
    if tail:
        cells.append(("code", tail))
    return cells


def to_notebook(cells):
    return {
        "cells": [
            {
                "cell_type": kind,
                "metadata": {},
                "source": source.splitlines(keepends=True),
                **(
                    {"execution_count": None, "outputs": []}
                    if kind == "code"
                    else {}
                ),
            }
            for kind, source in cells
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main():
    source_dir = os.path.join(HERE, "src")
    for name in sorted(os.listdir(source_dir)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(source_dir, name)) as file:
            notebook = to_notebook(tutobook_to_cells(file.read()))
        target = os.path.join(HERE, name[:-3] + ".ipynb")
        with open(target, "w") as file:
            json.dump(notebook, file, indent=1)
            file.write("\n")
        print(target)


if __name__ == "__main__":
    main()
