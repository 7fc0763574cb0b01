"""What the deployment files are checked against, read from the project's sources, and
the helpers every check shares. init(root) must run before the checks."""

import os
import re
import urllib.parse
from pathlib import Path

ROOT = DEPLOY = SRC = BINARY = None
# What serve takes for a switch given by environment (Args::ReadEnvironment).
SWITCH_VALUES = ("1", "true", "yes", "on", "0", "false", "no", "off", "")
PROBLEMS = []


NOTES = []


def init(root, binary=None):
    global ROOT, DEPLOY, SRC, BINARY
    ROOT = Path(root).resolve()
    DEPLOY = ROOT / "deploy"
    BINARY = Path(binary) if binary else None
    SRC = Source()


def note(message):
    """What was not checked, and why: printed, not a failure."""
    NOTES.append(message)


def tool_output(result, scratch=None):
    """A tool's report on one line, without its progress lines."""
    text = (result.stdout + "\n" + result.stderr)
    if scratch:
        text = text.replace(scratch, "<copy>")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("Checking ")]
    return " | ".join(lines)


def problem(where, message):
    where = str(where)
    if where.startswith(str(ROOT) + os.sep):
        where = where[len(str(ROOT)) + 1:]
    PROBLEMS.append(f"{where}: {message}")


def read(path):
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        problem(path, f"cannot read: {e.strerror}")
        return ""


def cpp_balanced(text, start):
    """Index just past the bracket that closes text[start] ('(' or '{'), skipping strings."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack, i = [], start
    while i < len(text):
        c = text[i]
        if text.startswith('R"(', i):
            i = text.index(')"', i + 3) + 2
            continue
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in pairs:
            stack.append(pairs[c])
        elif c in ")}]":
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def split_top_level(text):
    parts, depth, cur, i = [], 0, "", 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur += text[i:j + 1]
            i = j + 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        parts.append(cur.strip())
    return parts


class Source:
    """What the deployment files must match, read from the project's sources."""

    def __init__(self):
        self.serve_cpp = ROOT / "src/cli/serve_command.cpp"
        text = read(self.serve_cpp)
        self.value_flags, self.switch_flags = self._serve_flags(text)
        self.flags = self.value_flags | self.switch_flags
        m = re.search(r'ReadEnvironment\(\s*"([A-Z0-9_]+)"', text)
        self.env_prefix = m.group(1) if m else None
        if not self.env_prefix:
            problem(self.serve_cpp, "serve reads no flags from the environment (no ReadEnvironment call): "
                                    "the MMSERVE_* settings of deploy/ would be ignored")
        self.default_port = self._int_default(text, "port")
        self.default_exit_timeout = self._int_default(text, "exit-timeout-secs")
        self.routes = self._routes()
        self.default_max_body = self._max_body()
        self.metrics = self._metrics()
        cmake = read(ROOT / "CMakeLists.txt")
        self.cmake = cmake
        self.has_build_tests_option = re.search(r"option\(\s*MMS_BUILD_TESTS\b", cmake) is not None
        self.setup_packages = self._setup_packages()
        self.placeholder_marker = self._placeholder_marker()

    def _placeholder_marker(self):
        """The marker the server refuses in a key or secret (src/api/auth.h)."""
        path = ROOT / "src/api/auth.h"
        m = re.search(r'kPlaceholderSecretMarker\s*=\s*"([^"]+)"', read(path))
        if not m:
            problem(path, "no kPlaceholderSecretMarker: cannot check that the example secrets are refused placeholders")
            return None
        return m.group(1)

    def _serve_flags(self, text):
        m = re.search(r"int\s+ServeCommand\s*\(", text)
        call = re.search(r"\bArgs\s+\w+\s*\(", text[m.end():] if m else text)
        if not call:
            problem(self.serve_cpp, "cannot find serve's flag list (the `Args args(...)` call in ServeCommand); "
                                    "update tests/deploy/deploy_checks/source.py")
            return set(), set()
        start = (m.end() if m else 0) + call.end() - 1
        inner = text[start + 1:cpp_balanced(text, start) - 1]
        groups = []
        for arg in split_top_level(inner):
            if arg.startswith("{"):
                body = arg
            elif re.fullmatch(r"[A-Za-z_]\w*", arg):
                d = re.search(r"\b" + arg + r"\b\s*=?\s*\{", text)
                if not d:
                    continue
                body = text[d.end() - 1:cpp_balanced(text, d.end() - 1)]
            else:
                continue
            names = re.findall(r'"([a-z][a-z0-9-]*)"', body)
            if names:
                groups.append(set(names))
        if not groups:
            problem(self.serve_cpp, "cannot read serve's flag list from its `Args args(...)` call; "
                                    "update tests/deploy/deploy_checks/source.py")
            return set(), set()
        return groups[0], groups[1] if len(groups) > 1 else set()

    def _int_default(self, text, flag):
        m = re.search(r'GetInt\(\s*"' + re.escape(flag) + r'"\s*,\s*(\d+)\s*\)', text)
        if not m:
            problem(self.serve_cpp, f"cannot find the default of --{flag} (args.GetInt(\"{flag}\", N))")
            return None
        return int(m.group(1))

    def _routes(self):
        """(method, regex) of every route registered in src/api: `router.Add("GET", pattern, ...)`
        or a file's own `add("GET", pattern, ...)` helper, whose patterns are string literals,
        string constants, or a loop variable over a constant array, joined by `+`; {name}
        placeholders match one path segment."""
        routes = []
        for cpp in sorted((ROOT / "src/api").glob("*.cpp")):
            text = read(cpp)
            consts = {}  # identifier -> the strings it may hold
            for c in re.finditer(r'const\s+std::string\s+(\w+)\s*=\s*(R"\((.*?)\)"|"((?:[^"\\]|\\.)*)")\s*;', text):
                consts[c.group(1)] = [c.group(3) if c.group(3) is not None else c.group(4)]
            for c in re.finditer(r'const\s+char\s*\*\s*const\s+(\w+)\[\]\s*=\s*\{(.*?)\};', text, re.S):
                consts[c.group(1)] = re.findall(r'"((?:[^"\\]|\\.)*)"', c.group(2))
            for c in re.finditer(r'for\s*\(\s*const\s+(?:std::string|auto|char\s*\*)\s*&?\s*(\w+)\s*:\s*(\w+)\s*\)', text):
                if c.group(2) in consts:
                    consts[c.group(1)] = consts[c.group(2)]
            for r in re.finditer(r'\b(?:router\.Add|add)\(\s*"(GET|POST|PUT|DELETE|PATCH)"\s*,', text):
                start = text.index("(", r.start())
                args = split_top_level(text[start + 1:cpp_balanced(text, start) - 1])
                if len(args) < 2:
                    continue
                patterns = [""]
                for raw, lit, ident, other in re.findall(
                        r'R"\((.*?)\)"|"((?:[^"\\]|\\.)*)"|(\w+)|(\S)', args[1], re.S):
                    if raw or lit:
                        patterns = [p + (raw or lit) for p in patterns]
                    elif ident in consts:
                        patterns = [p + v for p in patterns for v in consts[ident]]
                    elif other != "+":
                        patterns = []
                        break
                for pattern in patterns:
                    routes.append((r.group(1), re.sub(r"\{\w+\}", "([^/]+)", pattern)))
        if not routes:
            problem(ROOT / "src/api", "found no routes (router.Add(\"GET\", ...)); "
                                      "update tests/deploy/deploy_checks/source.py")
        return routes

    def has_route(self, path, method="GET"):
        path = path.split("?", 1)[0]
        return any(m == method and re.fullmatch(p, path) for m, p in self.routes)

    def describe_routes(self, method="GET"):
        return ", ".join(sorted({p for m, p in self.routes if m == method and "(" not in p}))

    def _max_body(self):
        path = ROOT / "src/api/input_limits.h"
        m = re.search(r"max_body_bytes\s*=\s*([0-9u\s<*+()]+);", read(path))
        if not m:
            problem(path, "cannot read the default max_body_bytes; update tests/deploy/deploy_checks/source.py")
            return None
        return int(eval(re.sub(r"(\d+)u", r"\1", m.group(1)), {"__builtins__": {}}))

    def _metrics(self):
        """Metric family names: the names given to prometheus-cpp's builders or to Family()."""
        names = set()
        for f in (ROOT / "src").rglob("*.cpp"):
            names |= set(re.findall(r'(?:Name|Family)\(\s*"(mmserve_[a-z0-9_]+)"', read(f)))
        if not names:
            problem(ROOT / "src", "found no metric names (.Name(\"mmserve_...\") or Family(\"mmserve_...\"))")
        return names

    def _setup_packages(self):
        path = ROOT / "scripts/setup.sh"
        m = re.search(r"^PACKAGES=\((.*?)^\)", read(path), re.S | re.M)
        if not m:
            problem(path, "cannot find the PACKAGES=( ... ) list")
            return []
        return [w for line in m.group(1).splitlines() for w in line.split("#", 1)[0].split()]

    def env_flag(self, name):
        """The serve flag an environment variable sets, or None when it is not one."""
        if not self.env_prefix or not name.startswith(self.env_prefix):
            return None
        return name[len(self.env_prefix):].lower().replace("_", "-")


def check_env(where, name, value):
    """An MMSERVE_* setting must name a serve flag, and a switch must take a switch value."""
    if not name.startswith("MMSERVE_"):
        return
    flag = SRC.env_flag(name) or name[len("MMSERVE_"):].lower().replace("_", "-")
    if SRC.flags and flag not in SRC.flags:
        problem(where, f"{name} is no serve flag (--{flag} is not in src/cli/serve_command.cpp's flag list)")
    elif flag in SRC.switch_flags and str(value).lower() not in SWITCH_VALUES:
        problem(where, f"{name} is a switch: 1/true/yes/on or 0/false/no/off, not {value!r}")


def check_health_url(where, what, command, port):
    urls = re.findall(r"https?://[^\s\"',\]]+", str(command))
    if not urls:
        problem(where, f"{what} calls no URL")
        return
    u = urllib.parse.urlparse(urls[0])
    if (u.port or 80) != port:
        problem(where, f"{what} checks port {u.port or 80}, but the server listens on {port}")
    if not SRC.has_route(u.path or "/"):
        problem(where, f"{what} checks {u.path}, which is not a GET route of the server ({SRC.describe_routes()})")


def image_ok(where, image):
    if not isinstance(image, str) or not image:
        problem(where, "no image")
        return
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        problem(where, f"image {image} has no tag: pin one (not latest)")
    elif last.endswith(":latest"):
        problem(where, f"image {image} uses the latest tag: pin a version")


def image_repo(image):
    return str(image).partition("@")[0].rsplit("/", 1)[-1].split(":")[0]
