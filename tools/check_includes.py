#!/usr/bin/env python3
"""Fails when a source file includes a folder its own folder may not depend on.

The rules below are the "may depend on" lines of the folders' READMEs (DEVELOPERS.md, "The tree"),
written as data: for each source folder, the repository folders its `#include "..."` lines may
name. An include is read as a repository path when its first component is a top-level folder of
this repository (or `ringserve/`, the SDK's public headers); anything else is a system header, a
file beside the includer or generated code (`worker.capnp.h`, `dataplane.pb.h`) and is not checked.
A folder is ruled by its longest prefix in RULES; a source folder with no rule is an error, so a
new folder gets its rule when it is created.

    tools/check_includes.py          # run by the dev preset as the test `include_rules`
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# folder -> folders it may include from (its own is always allowed). `ringserve` is the SDK's
# public include directory (sdk/include/ringserve).
BASE = {"transport", "schema"}
# supervisor/environments' ringserve_environment_format target, linked by the server and pack-env.
ENV_FORMAT = {"supervisor/environments/env_error.hpp", "supervisor/environments/elf_file.hpp", "supervisor/environments/manifest.hpp",
              "supervisor/environments/python_env.hpp", "supervisor/environments/sha256.hpp"}
RULES = {
    "schema": set(),
    "transport": {"schema"},
    "sdk": {"ringserve"},
    "worker": BASE | {"ringserve"},
    "runtimes": {"ringserve"},
    "examples": {"ringserve"},
    # wire protocols the server and the clients share: no server header
    "protocol": BASE,
    # clients (`ringserve bench`, `infer`, `ctl`, `pack-env`): never the server. pack-env reads the
    # environment format the server reads (ENV_FORMAT), which is the one shared part of supervisor/.
    "clients": BASE,
    "clients/loadgen": BASE | {"protocol/grpc"},
    "clients/ctl": BASE | {"protocol/control"},
    "clients/pack_env": BASE | ENV_FORMAT,
    # the one `ringserve` executable: every subcommand
    "cli": {"*"},
    "supervisor/settings": BASE | {"protocol/control/socket_path.hpp"},
    "supervisor/image": BASE,
    "supervisor/environments": BASE | {"supervisor/settings"},
    "supervisor/process": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/worker_error.hpp"},
    "supervisor/codec": BASE | {"supervisor/error.hpp", "supervisor/settings"},
    "supervisor/core": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/codec",
                               "supervisor/environments", "supervisor/process", "supervisor/settings"},
    "supervisor/dispatch": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/worker_error.hpp",
                                   "supervisor/codec",
                                   "supervisor/core"},
    "supervisor/http": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/codec",
                               "supervisor/core", "supervisor/dispatch", "supervisor/settings"},
    "supervisor/grpc": BASE | {"supervisor/error.hpp", "supervisor/codec", "supervisor/core",
                               "supervisor/dispatch", "supervisor/settings", "protocol/grpc"},
    "supervisor/control": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/codec",
                                  "supervisor/core", "supervisor/settings", "protocol/control"},
    # the server assembled: every front end and the core; nothing in supervisor/ but start/ uses it
    "supervisor/server": BASE | {"supervisor/error.hpp", "supervisor/event.hpp", "supervisor/settings",
                                 "supervisor/core", "supervisor/dispatch", "supervisor/http", "supervisor/grpc",
                                 "supervisor/control"},
    # `ringserve start`: settings, checks, signals, then the server
    "supervisor/start": BASE | {"supervisor", "protocol"},
    "supervisor": BASE | {"supervisor"},  # error.hpp, event.hpp
    # benchmarks and tests may use anything
    "bench": {"*"},
    "tests": {"*"},
}
CHECKED_SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def rule_for(folder):
    parts = folder.split("/")
    for n in range(len(parts), 0, -1):
        key = "/".join(parts[:n])
        if key in RULES:
            return key
    return None


def allowed(include, own, allow):
    if "*" in allow or include.startswith(own + "/"):
        return True
    return any(include == a or include.startswith(a + "/") for a in allow)


def main():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    top = {p.split("/")[0] for p in files if "/" in p} | {"ringserve"}
    errors = []
    for path in sorted(set(files)):
        p = pathlib.PurePosixPath(path)
        if p.suffix not in CHECKED_SUFFIXES or not (ROOT / path).is_file():
            continue
        folder = str(p.parent)
        own = rule_for(folder)
        if own is None:
            errors.append(f"{path}: no include rule for folder {folder} (add one to tools/check_includes.py)")
            continue
        for n, line in enumerate((ROOT / path).read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1) or m.group(1).split("/")[0] not in top:
                continue
            if not allowed(m.group(1), own, RULES[own]):
                errors.append(f"{path}:{n}: {own}/ may not include \"{m.group(1)}\"")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_includes: {len(errors)} include(s) break the folder rules "
              "(DEVELOPERS.md, The tree; the folder READMEs)", file=sys.stderr)
        return 1
    print("check_includes: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
