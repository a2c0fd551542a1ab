"""Turns a conda-style environment file (environment.yaml / conda.yaml) into pip requirements.

ringserve images have no conda: a `ringserve dockerfile` image installs the file's packages into
the image's Python with pip. Conda specs `name=1.2` / `name==1.2` / `name>=1.2` become pip specs;
`python` and `pip` themselves are skipped (the image's Python is Debian's 3.11); the `pip:` list is
passed through unchanged. Usage: python3 conda-to-requirements.py FILE > requirements.txt
"""
import re
import sys

import yaml


def requirements(doc):
    out = []
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict):
            out.extend(str(p) for p in dep.get("pip") or [])
            continue
        spec = str(dep).split("::")[-1].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(==|=|>=|<=|>|<|!=)?\s*([^\s=]*)(=\S+)?", spec)
        if not m:
            sys.exit(f"conda-to-requirements: cannot read dependency '{dep}'")
        name, op, version = m.group(1), m.group(2), m.group(3)
        if name in ("python", "pip"):
            continue
        if op == "=":
            # conda's `=1.2` means 1.2.*; pip's nearest is a prefix match.
            op, version = "==", version if "*" in version else version + ".*"
        out.append(name + (op + version if op and version else ""))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: conda-to-requirements.py FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        sys.exit(f"conda-to-requirements: {sys.argv[1]} is not a mapping")
    for line in requirements(doc):
        print(line)


if __name__ == "__main__":
    main()
