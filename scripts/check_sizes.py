#!/usr/bin/env python3
"""The size rules of docs/architecture.md: no C++ file over 600 lines, no function over 60.

A function is a brace block opened at namespace or class level by a line that ends a signature
(`) {`, `) const {`, `) override {`, ...); its length counts from that line to its closing brace.
Lambdas and blocks inside a function count towards the function. Exit 1 and list offenders.
"""
import re
import sys
from pathlib import Path

MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60
SIGNATURE_END = re.compile(r"\)\s*(const)?\s*(noexcept)?\s*(override)?\s*(->\s*[\w:<>,\s&*]+)?\s*\{\s*$")
SCOPE_OPEN = re.compile(r"^\s*(namespace\b.*|(class|struct|union|enum)\b[^;()]*|extern \"C\")\s*\{\s*$")


def strip(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//", 1)[0]


def functions(path):
    """(name line, length) of each function defined at namespace or class scope."""
    lines = path.read_text(errors="replace").splitlines()
    stack = []  # one entry per open brace: "scope" or ("function", start line)
    pending = None  # a signature spread over several lines, started here
    out = []
    for number, raw in enumerate(lines, 1):
        line = strip(raw)
        in_function = any(isinstance(s, tuple) for s in stack)
        if not in_function and pending is None and "(" in line and not line.strip().startswith("#"):
            pending = number
        for i, ch in enumerate(line):
            if ch == "{":
                head = line[: i + 1]
                if in_function:
                    stack.append("block")
                elif SCOPE_OPEN.match(head) or not SIGNATURE_END.search(head.strip() and line[: i + 1]):
                    stack.append("scope")
                else:
                    stack.append(("function", pending or number))
                    in_function = True
                pending = None
            elif ch == "}" and stack:
                top = stack.pop()
                if isinstance(top, tuple):
                    out.append((top[1], number - top[1] + 1))
                    in_function = any(isinstance(s, tuple) for s in stack)
        if line.rstrip().endswith(";") and not in_function:
            pending = None
    return out


def main(roots):
    problems = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.suffix not in (".cpp", ".h") or not path.is_file():
                continue
            count = len(path.read_text(errors="replace").splitlines())
            if count > MAX_FILE_LINES:
                problems.append(f"{path}: {count} lines (at most {MAX_FILE_LINES})")
            for start, length in functions(path):
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{path}:{start}: a function of {length} lines "
                                    f"(at most {MAX_FUNCTION_LINES})")
    for p in problems:
        print(p)
    print(f"check_sizes: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src", "cli", "examples"]))
