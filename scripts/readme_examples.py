#!/usr/bin/env python3
"""README.md's complete examples, as C files the image compiles and runs.

A complete example in README.md is a ```c block right after a marker line

    <!-- example NAME returns VALUE -->

(an HTML comment: Markdown shows nothing). The block must define
`int64_t app_main(void *arg)`; VALUE is the C expression it must return
(0, -ETIMEDOUT, 338350, ...). For each marker this writes NAME.c: the
block under `#line` directives (so a compiler error names README.md's line),
with app_main renamed readme_example_NAME, and a test `readme.NAME` in the
in-image suites that calls it and expects VALUE. So every example the
README calls complete builds with the image's flags and does what its text
says, on every test configuration.

  readme_examples.py --list README.md          names, one per line
  readme_examples.py README.md NAME -o FILE    write NAME's C file

A marker without a ```c block after it, a bad or repeated name, or a block
that never ends is an error naming README.md's line (exit status 1).
"""
import argparse
import re
import sys

MARKER = re.compile(r"^<!-- example (\S+) returns (.+?) -->\s*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ReadmeError(Exception):
    pass


def examples(path):
    """[(name, value, first code line number, code)] in README order."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found, seen = [], set()
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            if lines[i].startswith("<!-- example"):
                raise ReadmeError(f"{path}:{i + 1}: marker is not "
                                  "'<!-- example NAME returns VALUE -->'")
            i += 1
            continue
        name, value = m.group(1), m.group(2)
        where = f"{path}:{i + 1}"
        if not NAME.match(name):
            raise ReadmeError(f"{where}: example name '{name}' is not a C identifier in lower case")
        if name in seen:
            raise ReadmeError(f"{where}: example '{name}' is defined twice")
        seen.add(name)
        if i + 1 >= len(lines) or lines[i + 1].strip() != "```c":
            raise ReadmeError(f"{where}: example '{name}' is not followed by a ```c block")
        start = i + 2
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ReadmeError(f"{where}: example '{name}': its ```c block never ends")
        code = "\n".join(lines[start:end])
        if not re.search(r"\bint64_t\s+app_main\s*\(\s*void\s*\*", code):
            raise ReadmeError(f"{where}: example '{name}' defines no int64_t app_main(void *arg)")
        found.append((name, value, start + 1, code))
        i = end + 1
    return found


def c_file(path, name, value, first_line, code):
    return (
        f"/* Generated from {path} by scripts/readme_examples.py: edit {path}. */\n"
        f"#define app_main readme_example_{name}\n"
        f"#line {first_line} \"{path}\"\n"
        f"{code}\n"
        f"#line 1 \"readme_examples.py:{name}\"\n"
        "#include <errno.h>\n"
        "#include \"sr_test.h\"\n"
        f"TEST(readme, {name})\n"
        "{\n"
        f"    EXPECT_EQ(app_main(0), ({value}));\n"
        "}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the examples' names")
    ap.add_argument("readme")
    ap.add_argument("name", nargs="?")
    ap.add_argument("-o", dest="out")
    args = ap.parse_args()
    try:
        found = examples(args.readme)
    except (OSError, ReadmeError) as e:
        print(f"readme_examples: {e}", file=sys.stderr)
        return 1
    if args.list:
        for name, *_ in found:
            print(name)
        return 0
    if not args.name or not args.out:
        ap.error("give NAME and -o FILE, or --list")
    for name, value, first_line, code in found:
        if name == args.name:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(c_file(args.readme, name, value, first_line, code))
            return 0
    print(f"readme_examples: {args.readme} has no example '{args.name}'", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
