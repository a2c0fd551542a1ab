"""A Dockerfile checker written from the Dockerfile reference (docs.docker.com/reference/dockerfile),
for the instructions and flags BuildKit's frontend `docker/dockerfile:1` accepts. No builder needed.

check(text) returns a list of "line N: problem" strings (empty: the file is valid).
"""
import json
import re

INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
FLAGS = {
    "FROM": {"platform"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"},
    "RUN": {"mount", "network", "security"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
BOOLEAN_FLAGS = {"link", "parents", "keep-git-dir"}
DIRECTIVES = {"syntax", "escape", "check"}
DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")
ARG_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def logical_lines(text):
    """(first line number, instruction text) with comments dropped and continuations joined."""
    out, buf, start, in_directives = [], "", 0, True
    directives = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_directives:
            m = re.match(r"^#\s*([a-zA-Z]+)\s*=\s*(.+)$", line)
            if m and m.group(1).lower() in DIRECTIVES:
                directives.append((n, m.group(1).lower()))
                continue
            in_directives = False
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, buf + line))
        buf = ""
    if buf:
        out.append((start, buf))
    return out, directives


def split_flags(instr, args):
    flags, rest = {}, args.split()
    while rest and rest[0].startswith("--"):
        name, _, value = rest.pop(0)[2:].partition("=")
        flags[name] = value if value or name in BOOLEAN_FLAGS else None
    return flags, rest


def check(text):
    problems = []
    lines, directives = logical_lines(text)
    seen = set()
    for n, d in directives:
        if d in seen:
            problems.append(f"line {n}: parser directive '{d}' given twice")
        seen.add(d)
    global_args, stages, from_seen = set(), [], False
    for n, line in lines:
        word, _, args = line.partition(" ")
        instr, args = word.upper(), args.strip()
        where = f"line {n}"
        if word != instr:
            problems.append(f"{where}: instruction '{word}' is not upper case")
        if instr not in INSTRUCTIONS:
            problems.append(f"{where}: unknown instruction '{word}'")
            continue
        if not from_seen and instr not in ("ARG", "FROM"):
            problems.append(f"{where}: {instr} before the first FROM (only ARG may come first)")
        if not args:
            problems.append(f"{where}: {instr} without arguments")
            continue
        flags, rest = split_flags(instr, args) if instr in FLAGS else ({}, args.split())
        for f, v in flags.items():
            if f not in FLAGS.get(instr, ()):
                problems.append(f"{where}: {instr} has no flag --{f}")
            elif v is None:
                problems.append(f"{where}: --{f} needs a value")
        if instr == "ARG":
            name = args.split("=", 1)[0]
            if not ENV_KEY.match(name):
                problems.append(f"{where}: bad ARG name '{name}'")
            if not from_seen:
                global_args.add(name)
        elif instr == "FROM":
            from_seen = True
            if len(rest) not in (1, 3) or (len(rest) == 3 and rest[1].upper() != "AS"):
                problems.append(f"{where}: FROM takes IMAGE [AS NAME]")
                continue
            for ref in ARG_REF.findall(rest[0]):
                if ref not in global_args:
                    problems.append(f"{where}: FROM uses ${ref}, not an ARG declared before the first FROM")
            if len(rest) == 3:
                name = rest[2].lower()
                if name in stages:
                    problems.append(f"{where}: stage name '{name}' used twice")
                if not re.match(r"^[a-z][a-z0-9_.-]*$", name):
                    problems.append(f"{where}: bad stage name '{rest[2]}'")
                stages.append(name)
            else:
                stages.append(None)
        elif instr in ("COPY", "ADD"):
            if instr == "COPY" and "from" in flags and flags["from"]:
                src = flags["from"].lower()
                if not src.isdigit() and src not in stages and ":" not in src and "/" not in src:
                    problems.append(f"{where}: COPY --from={flags['from']} names no earlier stage")
            if rest and rest[0].startswith("["):
                problems += json_array(where, instr, args[args.index("["):])
            elif len(rest) < 2:
                problems.append(f"{where}: {instr} needs a source and a destination")
        elif instr in ("CMD", "ENTRYPOINT", "SHELL", "VOLUME") and args.startswith("["):
            problems += json_array(where, instr, args)
        elif instr == "SHELL":
            problems.append(f"{where}: SHELL takes a JSON array")
        elif instr == "HEALTHCHECK":
            if rest == ["NONE"]:
                continue
            if not rest or rest[0].upper() != "CMD" or len(rest) < 2:
                problems.append(f"{where}: HEALTHCHECK takes [OPTIONS] CMD command, or NONE")
            else:
                cmd = args[args.upper().index("CMD") + 3:].strip()
                if cmd.startswith("["):
                    problems += json_array(where, "HEALTHCHECK CMD", cmd)
            for f in ("interval", "timeout", "start-period", "start-interval"):
                if flags.get(f) and not DURATION.match(flags[f]):
                    problems.append(f"{where}: --{f}={flags[f]} is not a duration")
            if flags.get("retries") and not flags["retries"].isdigit():
                problems.append(f"{where}: --retries={flags['retries']} is not a number")
        elif instr == "EXPOSE":
            for p in rest:
                m = re.match(r"^([0-9]+)(-[0-9]+)?(/(tcp|udp))?$", p)
                if not m or not 0 < int(m.group(1)) < 65536:
                    problems.append(f"{where}: EXPOSE {p} is not a port[/tcp|udp]")
        elif instr == "ENV":
            pairs = re.findall(r'([^\s=]+)=("[^"]*"|\S*)', args)
            if not pairs and len(rest) < 2:
                problems.append(f"{where}: ENV takes KEY=VALUE pairs")
            for key, _ in pairs:
                if not ENV_KEY.match(key):
                    problems.append(f"{where}: bad ENV name '{key}'")
        elif instr in ("USER", "WORKDIR", "STOPSIGNAL") and len(rest) != 1:
            problems.append(f"{where}: {instr} takes one argument")
    if not from_seen:
        problems.append("no FROM instruction")
    return problems


def json_array(where, instr, text):
    try:
        value = json.loads(text)
    except ValueError as e:
        return [f"{where}: {instr} JSON form is not valid JSON ({e})"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return [f"{where}: {instr} JSON form must be a non-empty array of strings"]
    return []
