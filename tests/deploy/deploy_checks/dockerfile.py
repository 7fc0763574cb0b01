"""deploy/Dockerfile and the build context (.dockerignore)."""

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

from . import source as S
from .source import check_env, check_health_url, image_ok, problem, read, tool_output


def dockerfile_instructions(text):
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and cur):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def apt_packages(run):
    pkgs = []
    for m in re.finditer(r"apt-get\s+(?:-\S+\s+)*install\s+(.*?)(?:&&|;|\|\||$)", run):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def dockerignore_patterns():
    path = S.ROOT / ".dockerignore"
    if not path.exists():
        path = S.DEPLOY / "Dockerfile.dockerignore"
    if not path.exists():
        problem(S.ROOT / ".dockerignore", "missing: the build context would carry build trees and benchmark output")
        return path, []
    lines = [ln.strip() for ln in read(path).splitlines()]
    return path, [ln for ln in lines if ln and not ln.startswith("#")]


def ignored(patterns, rel):
    result = False
    for p in patterns:
        neg = p.startswith("!")
        p = p.lstrip("!").strip("/")
        parts = rel.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) or
                  (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:]))
                  for i in range(1, len(parts) + 1))
        if hit:
            result = not neg
    return result


def check_dockerfile():
    path = S.DEPLOY / "Dockerfile"
    if not path.exists():
        problem(path, "missing")
        return {}
    stages, stage = [], None
    for word, rest in dockerfile_instructions(read(path)):
        if word == "FROM":
            tokens = [t for t in rest.split() if not t.startswith("--")]
            if tokens[0] not in [st["name"] for st in stages]:  # not FROM an earlier stage
                image_ok(path, tokens[0])
            stage = {"image": tokens[0], "name": tokens[2] if len(tokens) > 2 else None, "ins": []}
            stages.append(stage)
        elif stage is not None:
            stage["ins"].append((word, rest))
    if not stages:
        problem(path, "no FROM")
        return {}
    if not stages[0]["image"].startswith("debian:bookworm") or not stages[-1]["image"].startswith("debian:bookworm"):
        problem(path, "the stages must be Debian 12 (debian:bookworm, debian:bookworm-slim), the platform "
                      "scripts/setup.sh installs for")
    build, final = stages[:-1], stages[-1]
    if not build:
        problem(path, "no build stage: build in one stage, run in a slim one")
    build_runs = " ".join(r for s in build for w, r in s["ins"] if w == "RUN")
    installed = apt_packages(build_runs)
    wanted = [p for p in S.SRC.setup_packages if (p.endswith("-dev") or p.endswith("-headers"))
              and not p.startswith(("libgtest", "libgmock", "libclang-rt"))]  # tests and fuzzing only
    for p in wanted:
        if p not in installed:
            problem(path, f"the build stage does not install {p}, which scripts/setup.sh lists")
    if "cmake" not in build_runs:
        problem(path, "the build stage runs no cmake")
    elif S.SRC.has_build_tests_option and "-DMMS_BUILD_TESTS=OFF" not in build_runs:
        problem(path, "CMakeLists.txt has the MMS_BUILD_TESTS option: configure with -DMMS_BUILD_TESTS=OFF")
    elif not S.SRC.has_build_tests_option and "--target mmserve" not in build_runs:
        problem(path, "build only the mmserve target (--target mmserve): CMakeLists.txt has no MMS_BUILD_TESTS")
    # The build context: what the build stage copies exists and is not ignored, and covers
    # every source the top-level CMakeLists.txt names outside src/.
    ignore_path, patterns = dockerignore_patterns()
    copied = []
    for s in build:
        for w, r in s["ins"]:
            if w in ("COPY", "ADD") and "--from" not in r:
                srcs = [t for t in r.split() if not t.startswith("--")][:-1]
                for src in srcs:
                    src = src.strip("./") or "."
                    copied.append(src)
                    if not (S.ROOT / src).exists():
                        problem(path, f"COPY {src}: no such file in the repository")
                    elif src != "." and ignored(patterns, src):
                        problem(ignore_path, f"excludes {src}, which deploy/Dockerfile copies")
    for ref in sorted(set(re.findall(r"\b((?:bench|tools|third_party)/[\w./-]+\.(?:cpp|cc|c|h))\b", S.SRC.cmake))):
        if not any(c == "." or ref == c or ref.startswith(c + "/") for c in copied):
            problem(path, f"CMakeLists.txt names {ref}, which the build stage does not copy (configure would fail)")
    for must in ("build", "bench/out", "node_modules"):
        probe = must if "/" in must else (must + "/x" if must == "build" else "bench/ort/node_modules")
        if not ignored(patterns, probe):
            problem(ignore_path, f"does not exclude {must}")
    # The runtime stage.
    ins = final["ins"]
    words = {w for w, _ in ins}
    env = {}
    for w, r in ins:
        if w == "ENV":
            pairs = re.findall(r'(\w+)=("[^"]*"|\S+)', r) or [tuple((r.split(None, 1) + [""])[:2])]
            for k, v in pairs:
                env[k] = v.strip('"')
    for k, v in env.items():
        check_env(path, k, v)
    users = [r for w, r in ins if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problem(path, "the runtime stage runs as root: add USER with a numeric non-root uid")
    elif not users[-1].split(":")[0].isdigit():
        problem(path, f"USER {users[-1]}: use a numeric uid, so that Kubernetes' runAsNonRoot can verify it")
    port = int(env.get("MMSERVE_PORT") or S.SRC.default_port or 0)
    exposed = [int(t.split("/")[0]) for w, r in ins if w == "EXPOSE" for t in r.split()]
    if port not in exposed:
        problem(path, f"EXPOSE {exposed} does not include the server's port {port}")
    repo = env.get("MMSERVE_MODEL_REPOSITORY")
    if not repo:
        problem(path, "ENV MMSERVE_MODEL_REPOSITORY is not set")
    elif not any(repo in r for w, r in ins if w == "VOLUME"):
        problem(path, f"no VOLUME {repo} for the model repository")
    checks = [r for w, r in ins if w == "HEALTHCHECK"]
    if not checks:
        problem(path, "no HEALTHCHECK")
    else:
        check_health_url(path, "HEALTHCHECK", checks[-1], port)
        if "curl" in checks[-1] and "curl" not in apt_packages(" ".join(r for w, r in ins if w == "RUN")):
            problem(path, "HEALTHCHECK runs curl, which the runtime stage does not install")
    if "STOPSIGNAL" not in words or [r for w, r in ins if w == "STOPSIGNAL"][-1] not in ("SIGTERM", "15"):
        problem(path, "STOPSIGNAL SIGTERM is missing (the server shuts down gracefully on SIGTERM)")
    entry = " ".join(r for w, r in ins if w in ("ENTRYPOINT", "CMD"))
    if not re.search(r"mmserve\"?,?\s*\"?serve\b", entry):
        problem(path, "the entrypoint is not `mmserve serve`")
    check_runtime_libraries(path, apt_packages(" ".join(r for w, r in ins if w == "RUN")))
    hadolint = shutil.which("hadolint")
    if hadolint:
        # DL3008 (pin apt package versions) is left out: Debian 12's security updates replace
        # the pinned versions, and the tag debian:bookworm already fixes the release.
        r = subprocess.run([hadolint, "--ignore", "DL3008", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            for line in tool_output(r).split(" | "):
                problem(path, "hadolint: " + line)
    return {"port": port, "env": env}


# Linked by sanitizer builds only (the ASan test run passes its own binary).
SANITIZER_RUNTIMES = ("libasan", "libubsan", "liblsan", "libtsan")


def check_runtime_libraries(path, runtime_packages):
    """Every shared library a built mmserve links must come from a package the runtime stage
    installs, or from one of their dependencies (Debian 12's package data on this machine).
    Skipped, with a note, without a built binary, ldd, dpkg or apt-cache."""
    binary = S.BINARY
    tools = [shutil.which(t) for t in ("ldd", "dpkg", "apt-cache")]
    if not binary or not binary.is_file() or not all(tools):
        S.note("runtime libraries not checked: " + ("no built mmserve given (--binary)" if not binary else
                                                     f"{binary} does not exist" if not binary.is_file() else
                                                     "ldd, dpkg or apt-cache is missing"))
        return
    ldd = subprocess.run([tools[0], str(binary)], capture_output=True, text=True)
    libs = re.findall(r"=>\s+(/\S+)", ldd.stdout)
    if ldd.returncode != 0 or not libs:
        S.note(f"runtime libraries not checked: ldd {binary} failed")
        return
    owners = {}
    for lib in libs:
        if Path(lib).name.startswith(SANITIZER_RUNTIMES):
            continue
        real = str(Path(lib).resolve())
        candidates = {lib, real} | {c[4:] if c.startswith("/usr/") else "/usr" + c for c in (lib, real)}
        found = subprocess.run([tools[1], "-S", *sorted(candidates)], capture_output=True, text=True).stdout
        pkgs = {line.split(":", 1)[0].split(",")[0].strip() for line in found.splitlines() if ": " in line}
        owners[Path(lib).name] = pkgs
    deps = subprocess.run([tools[2], "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                           "--no-breaks", "--no-replaces", "--no-enhances", *runtime_packages],
                          capture_output=True, text=True).stdout
    closure = {line.strip().strip("<>") for line in deps.splitlines() if not line.startswith(" ")}
    for lib, pkgs in sorted(owners.items()):
        if not pkgs:
            S.note(f"runtime libraries: no package owns {lib}")
        elif not pkgs & closure:
            problem(path, f"mmserve links {lib} (package {', '.join(sorted(pkgs))}), which the runtime stage "
                          f"neither installs nor gets through its packages' dependencies")
