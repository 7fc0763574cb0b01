#!/usr/bin/python3
"""Offline checks of deploy/: the Dockerfile, docker-compose.yml with its nginx, Prometheus
and Grafana files, and the Kubernetes manifests of deploy/k8s/.

No Docker engine or Kubernetes API server is needed (kubectl --dry-run would need one).
What the files must agree with is read from the sources at run time, never copied here:
the serve flags (src/cli/serve_command.cpp), the routes (src/api/*.cpp), the default port,
exit timeout and body limit, the metric names (src/), the build packages
(scripts/setup.sh) and the CMake options. yamllint runs on every YAML file (relaxed
rules, lines up to 100 columns, warnings count); promtool, nginx -t and hadolint run
where installed. The checks are in deploy_checks/, one module per kind of file.

    tests/deploy/validate_manifests.py REPO_ROOT [--binary BUILD/mmserve]

With --binary, the shared libraries the built server links are checked against the
packages the Dockerfile's runtime stage installs.

Prints one line per problem and exits 1 when there is any.
"""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    print("validate_manifests: the Python yaml module is missing: install python3-yaml "
          "(scripts/setup.sh does) and run this with Debian's /usr/bin/python3")
    sys.exit(1)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_checks import source as S  # noqa: E402
from deploy_checks.compose import Compose  # noqa: E402
from deploy_checks.dockerfile import check_dockerfile  # noqa: E402
from deploy_checks.k8s import K8s  # noqa: E402
from deploy_checks.source import problem, read  # noqa: E402


def load_yaml_files():
    docs = {}
    for path in sorted(list(S.DEPLOY.rglob("*.yml")) + list(S.DEPLOY.rglob("*.yaml"))):
        try:
            docs[path] = [d for d in yaml.safe_load_all(read(path)) if d is not None]
        except yaml.YAMLError as e:
            problem(path, f"not valid YAML: {e}")
    return docs


def run_yamllint():
    tool = shutil.which("yamllint")
    if not tool:
        problem(S.DEPLOY, "yamllint is not installed (scripts/setup.sh installs it)")
        return
    config = "{extends: relaxed, rules: {line-length: {max: 100}}}"
    r = subprocess.run([tool, "--strict", "-f", "parsable", "-d", config, str(S.DEPLOY)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        for line in (r.stdout + r.stderr).strip().splitlines():
            problem(line.split(":", 1)[0], "yamllint: " + line.split(":", 1)[-1].strip())


def main():
    args = argparse.ArgumentParser(description="Offline checks of deploy/")
    args.add_argument("root", nargs="?", default=Path(__file__).resolve().parents[2], help="the repository")
    args.add_argument("--binary", help="a built mmserve, for the runtime library check")
    opts = args.parse_args()
    S.init(opts.root, opts.binary)
    if not S.DEPLOY.is_dir():
        print(f"validate_manifests: {S.DEPLOY} does not exist")
        return 1
    docs = load_yaml_files()
    run_yamllint()
    docker = check_dockerfile()
    K8s(docs).check()
    composes = [p for p in docs if p.parent == S.DEPLOY and p.name.startswith(("docker-compose", "compose"))]
    if not composes:
        problem(S.DEPLOY, "no docker-compose.yml")
    for p in composes:
        for d in docs[p]:
            Compose(p, d, docker).check()
    for line in S.NOTES:
        print(f"validate_manifests: note: {line}")
    if S.PROBLEMS:
        for line in S.PROBLEMS:
            print(line)
        print(f"validate_manifests: {len(S.PROBLEMS)} problem(s) in deploy/")
        return 1
    print(f"validate_manifests: deploy/ OK ({len(docs)} YAML files, the Dockerfile; {len(S.SRC.flags)} serve flags, "
          f"{len(S.SRC.routes)} routes, {len(S.SRC.metrics)} metrics read from src/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
