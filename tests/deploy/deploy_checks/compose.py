"""deploy/docker-compose.yml and the nginx, Prometheus and Grafana files it mounts."""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import yaml

from . import source as S
from .source import check_env, check_health_url, image_ok, image_repo, problem, read, tool_output


def duration_seconds(text):
    total, found = 0.0, False
    for n, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", str(text)):
        total += float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[unit]
        found = True
    return total if found else None


def size_bytes(text):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", str(text))
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()] if m else None


def expand(text):
    """Compose's ${VAR:-default} as shipped: the default, whatever this shell's environment holds."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}|\$\w+", lambda m: m.group(1) or "", str(text))


def nginx_parse(text):
    """nginx configuration as nested [name, args, children-or-None]."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"(?m)#.*$", "", text))
    pos = 0

    def block():
        nonlocal pos
        out, words = [], []
        while pos < len(tokens):
            t = tokens[pos]
            pos += 1
            if t == ";":
                out.append([words[0], words[1:], None])
                words = []
            elif t == "{":
                out.append([words[0], words[1:], block()])
                words = []
            elif t == "}":
                return out
            else:
                words.append(t.strip("\"'"))
        return out
    return block()


def nginx_find(tree, name):
    for d in tree:
        if d[0] == name:
            yield d
        if d[2]:
            yield from nginx_find(d[2], name)


class Compose:
    def __init__(self, path, doc, docker):
        self.path, self.doc, self.docker = path, doc, docker
        self.services = doc.get("services") or {}

    def env(self, svc):
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        return {k: (None if v is None else str(v)) for k, v in env.items()}

    def is_mmserve(self, svc):
        """Built from deploy/Dockerfile, or an mmserve image."""
        build = svc.get("build")
        if isinstance(build, dict):
            dockerfile = (self.path.parent / build.get("context", ".") / build.get("dockerfile", "Dockerfile"))
            if dockerfile.resolve() == S.DEPLOY / "Dockerfile":
                return True
        return image_repo(svc.get("image", "")) == "mmserve"

    def port_of(self, name):
        svc = self.services.get(name) or {}
        if self.is_mmserve(svc):
            return int(self.env(svc).get("MMSERVE_PORT") or self.docker.get("env", {}).get("MMSERVE_PORT")
                       or S.SRC.default_port or 0)
        return {"redis": 6379, "prometheus": 9090, "grafana": 3000, "nginx": 80}.get(image_repo(svc.get("image", "")))

    def mounts(self, svc):
        out = []
        for v in svc.get("volumes") or []:
            if isinstance(v, dict):
                out.append((expand(v.get("source", "")), v.get("target"), bool(v.get("read_only"))))
            else:
                parts = expand(v).split(":")
                if len(parts) >= 2:
                    out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        return out

    def host_path(self, source):
        return (self.path.parent / source).resolve() if source.startswith((".", "/")) else None

    def check(self):
        if not self.services:
            problem(self.path, "no services")
        mmserve = [n for n, s in self.services.items() if self.is_mmserve(s)]
        if not mmserve:
            problem(self.path, "no mmserve service (built from deploy/Dockerfile)")
        for name, svc in self.services.items():
            where = f"{self.path.relative_to(S.ROOT)}: service {name}"
            if not isinstance(svc, dict):
                problem(where, "not a mapping")
                continue
            if "image" not in svc and "build" not in svc:
                problem(where, "neither image nor build")
            if "image" in svc and "build" not in svc:
                image_ok(where, svc["image"])
            build = svc.get("build")
            if build is not None:
                ctx = self.path.parent / (build if isinstance(build, str) else build.get("context", "."))
                dockerfile = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
                if not ctx.is_dir():
                    problem(where, f"build context {ctx} is not a folder")
                elif not dockerfile.is_file():
                    problem(where, f"build dockerfile {dockerfile} does not exist")
            deps = svc.get("depends_on") or []
            for d in deps if isinstance(deps, list) else deps.keys():
                if d not in self.services:
                    problem(where, f"depends_on {d}, which is no service")
            for k, v in self.env(svc).items():
                check_env(where, k, v)
            for source, target, _ in self.mounts(svc):
                hp = self.host_path(source)
                if hp is not None and not hp.exists():
                    problem(where, f"mounts {source}, which does not exist "
                                   f"(relative to {self.path.parent.relative_to(S.ROOT)})")
            if name in mmserve:
                self.check_mmserve(where, svc)
        self.check_nginx(mmserve)
        self.check_prometheus(mmserve)
        self.check_grafana()

    def check_mmserve(self, where, svc):
        env = {**self.docker.get("env", {}), **{k: v for k, v in self.env(svc).items() if v is not None}}
        port = int(env.get("MMSERVE_PORT") or S.SRC.default_port or 0)
        hc = svc.get("healthcheck")
        if hc:
            check_health_url(where, "healthcheck", hc.get("test"), port)
        repo = env.get("MMSERVE_MODEL_REPOSITORY")
        mounted = [m for m in self.mounts(svc) if m[1] == repo]
        if not mounted:
            problem(where, f"nothing is mounted at the model repository {repo}")
        elif not mounted[0][2]:
            problem(where, f"the model repository {repo} is mounted read-write: add :ro")
        exit_timeout = int(env.get("MMSERVE_EXIT_TIMEOUT_SECS") or S.SRC.default_exit_timeout or 0)
        grace = duration_seconds(svc.get("stop_grace_period", "10s"))
        if grace is None or grace <= exit_timeout:
            problem(where, f"stop_grace_period {svc.get('stop_grace_period', '10s')} is not longer than the exit "
                           f"timeout ({exit_timeout} s): requests in flight would be killed")
        redis = env.get("MMSERVE_REDIS_URL")
        if redis:
            u = urllib.parse.urlparse(redis)
            if u.hostname not in self.services:
                problem(where, f"MMSERVE_REDIS_URL names host {u.hostname}, which is no service")
            elif self.port_of(u.hostname) not in (None, u.port or 6379):
                problem(where, f"MMSERVE_REDIS_URL port {u.port or 6379} is not {u.hostname}'s port")

    def config_file(self, image, targets):
        for name, svc in self.services.items():
            if image_repo(svc.get("image", "")) == image:
                for source, target, _ in self.mounts(svc):
                    if any(fnmatch.fnmatch(target, t) for t in targets) and self.host_path(source):
                        return name, svc, self.host_path(source)
                problem(f"{self.path.relative_to(S.ROOT)}: service {name}", f"mounts no configuration at {targets[0]}")
                return name, svc, None
        problem(self.path, f"no {image} service")
        return None, None, None

    def check_nginx(self, mmserve):
        name, svc, conf = self.config_file("nginx", ["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/*.conf"])
        if not conf or not conf.is_file():
            return
        tree = nginx_parse(read(conf))
        upstreams = list(nginx_find(tree, "upstream"))
        if not upstreams:
            problem(conf, "no upstream block")
        uses_resolve = False
        for up in upstreams:
            servers = [d for d in up[2] or [] if d[0] == "server"]
            if not servers:
                problem(conf, f"upstream {up[1]} has no servers")
            for d in servers:
                host, _, port = d[1][0].partition(":")
                if host not in self.services:
                    problem(conf, f"upstream server {d[1][0]}: {host} is no compose service")
                elif host not in mmserve:
                    problem(conf, f"upstream server {d[1][0]}: {host} is not an mmserve service")
                elif int(port or 80) != self.port_of(host):
                    problem(conf, f"upstream server {d[1][0]}: {host} listens on {self.port_of(host)}")
                if not any(a.startswith("max_fails=") for a in d[1]) or not any(a.startswith("fail_timeout=")
                                                                              for a in d[1]):
                    problem(conf, f"upstream server {d[1][0]}: set max_fails and fail_timeout")
                if "resolve" in d[1]:
                    uses_resolve = True
                    if not any(x[0] == "zone" for x in up[2]):
                        problem(conf, f"upstream {up[1]}: `resolve` needs a zone")
        if uses_resolve:
            if not list(nginx_find(tree, "resolver")):
                problem(conf, "`resolve` needs a resolver")
            version = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", svc.get("image", "").partition(":")[2])
            if not version or tuple(int(x or 0) for x in version.groups()) < (1, 27, 3):
                problem(f"{self.path.relative_to(S.ROOT)}: service {name}",
                        f"image {svc.get('image')}: upstream `resolve` needs nginx 1.27.3 or later")
        nu = [d[1] for d in nginx_find(tree, "proxy_next_upstream")]
        if not nu or not {"error", "timeout", "http_502", "http_503"} <= set(nu[0]):
            problem(conf, "proxy_next_upstream must retry on error timeout http_502 http_503")
        limits = [size_bytes(d[1][0]) for d in nginx_find(tree, "client_max_body_size")]
        body = max([int(self.env(self.services[m]).get("MMSERVE_MAX_BODY_BYTES") or S.SRC.default_max_body or 0)
                    for m in mmserve] or [0])
        if not limits:
            problem(conf, f"no client_max_body_size: nginx's 1m default is below the server's {body} bytes")
        elif limits[0] != body:
            problem(conf, f"client_max_body_size is {limits[0]} bytes, the server's limit {body}")
        if not any(d[1] and d[1][0].lower() == "x-request-id" for d in nginx_find(tree, "proxy_set_header")):
            problem(conf, "does not pass X-Request-ID (proxy_set_header X-Request-ID ...)")
        self.run_nginx_test(conf)

    def run_nginx_test(self, conf):
        """`nginx -t` on a copy that a local nginx can load: loopback servers, temp paths in a
        scratch folder, and without `resolve` (newer than Debian 12's nginx)."""
        tool = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
        if not tool:
            return
        with tempfile.TemporaryDirectory() as tmp:
            text = re.sub(r"(?m)^(\s*server\s+)[\w.-]+:(\d+)", r"\g<1>127.0.0.1:\2", read(conf))
            text = re.sub(r"\s+resolve\b(?=[^;]*;)", "", text)
            paths = " ".join(f"{k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            text = re.sub(r"(?m)^http\s*\{", "http {\n" + paths, text, count=1)
            text = re.sub(r"(?m)^\s*(access_log|error_log|pid)\s[^;]*;", "", text)
            Path(tmp, "nginx.conf").write_text(text)
            r = subprocess.run([tool, "-t", "-q", "-p", tmp, "-c", f"{tmp}/nginx.conf",
                                "-g", f"pid {tmp}/nginx.pid; error_log {tmp}/error.log;"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                problem(conf, "nginx -t: " + tool_output(r, tmp))

    def check_prometheus(self, mmserve):
        name, svc, conf = self.config_file("prometheus", ["/etc/prometheus/prometheus.yml"])
        if not conf or not conf.is_file():
            return
        try:
            doc = yaml.safe_load(read(conf)) or {}
        except yaml.YAMLError:
            return  # reported with the other YAML files
        jobs = doc.get("scrape_configs") or []
        scraped = set()
        for job in jobs:
            path = job.get("metrics_path", "/metrics")
            targets = []
            for sd in job.get("dns_sd_configs") or []:
                targets += [(n, sd.get("port")) for n in sd.get("names") or []]
            for sc in job.get("static_configs") or []:
                targets += [(t.rpartition(":")[0], int(t.rpartition(":")[2])) for t in sc.get("targets") or []]
            for host, port in targets:
                if host not in self.services:
                    problem(conf, f"job {job.get('job_name')}: target {host} is no compose service")
                elif host in mmserve:
                    scraped.add(host)
                    if port != self.port_of(host):
                        problem(conf, f"job {job.get('job_name')}: {host} listens on {self.port_of(host)}, not {port}")
                    if not S.SRC.has_route(path):
                        problem(conf, f"job {job.get('job_name')}: metrics_path {path} is not a route of the server")
        for m in mmserve:
            if m not in scraped:
                problem(conf, f"no job scrapes the mmserve service {m}")
        tool = shutil.which("promtool")
        if tool:
            r = subprocess.run([tool, "check", "config", "--syntax-only", str(conf)], capture_output=True, text=True)
            if r.returncode != 0:
                problem(conf, "promtool check config: " + tool_output(r))

    def check_grafana(self):
        grafana = [(n, s) for n, s in self.services.items() if image_repo(s.get("image", "")) == "grafana"]
        if not grafana:
            problem(self.path, "no grafana service")
            return
        name, svc = grafana[0]
        mounts = {t: self.host_path(s) for s, t, _ in self.mounts(svc) if self.host_path(s)}
        prov = mounts.get("/etc/grafana/provisioning")
        if not prov:
            problem(f"{self.path.relative_to(S.ROOT)}: service {name}", "mounts no /etc/grafana/provisioning")
            return
        uids = set()
        for f in sorted((prov / "datasources").glob("*.y*ml")):
            for ds in (yaml.safe_load(read(f)) or {}).get("datasources") or []:
                uids.add(ds.get("uid"))
                u = urllib.parse.urlparse(ds.get("url", ""))
                if u.hostname not in self.services:
                    problem(f, f"datasource {ds.get('name')}: {u.hostname} is no compose service")
                elif u.port != self.port_of(u.hostname):
                    problem(f, f"datasource {ds.get('name')}: {u.hostname} listens on {self.port_of(u.hostname)}")
        if not uids:
            problem(prov / "datasources", "no datasource provisioned")
        dashboards = 0
        for f in sorted((prov / "dashboards").glob("*.y*ml")):
            for p in (yaml.safe_load(read(f)) or {}).get("providers") or []:
                target = (p.get("options") or {}).get("path")
                folder = next((h for t, h in mounts.items() if target and (target == t or target.startswith(t + "/"))),
                              None)
                if folder is None:
                    problem(f, f"provider {p.get('name')}: {target} is not mounted into the grafana service")
                    continue
                folder = folder / os.path.relpath(target, next(t for t in mounts if target.startswith(t)))
                for board in sorted(folder.glob("*.json")):
                    dashboards += 1
                    check_dashboard(board, uids)
        if not dashboards:
            problem(prov / "dashboards", "provisions no dashboard")


def check_dashboard(path, uids):
    try:
        board = json.loads(read(path))
    except ValueError as e:
        problem(path, f"not valid JSON: {e}")
        return
    exprs = []
    panels = board.get("panels") or []
    if not panels:
        problem(path, "no panels")
    for p in panels:
        for t in p.get("targets") or []:
            ds = t.get("datasource") or p.get("datasource") or {}
            if isinstance(ds, dict) and ds.get("uid") not in uids and not str(ds.get("uid", "")).startswith("$"):
                problem(path, f"panel {p.get('title')!r}: datasource uid {ds.get('uid')} is not provisioned")
            if t.get("expr"):
                exprs.append((p.get("title"), t["expr"]))
    for title, expr in exprs:
        for name in set(re.findall(r"\b(mmserve_[a-z0-9_]+)", expr)):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if S.SRC.metrics and name not in S.SRC.metrics and base not in S.SRC.metrics:
                problem(path, f"panel {title!r}: metric {name} is not exported by the server (src/)")
    text = json.dumps(board)
    for family in ("mmserve_request_duration_seconds_bucket", "mmserve_batch_size", "mmserve_cache_requests_total",
                   "mmserve_requests_total"):
        if family not in text:
            problem(path, f"no panel uses {family}")
    # Each query must parse: promtool checks it as a recording rule, with Grafana's
    # variables given values.
    tool = shutil.which("promtool")
    if not tool:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for title, expr in exprs:
            concrete = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            concrete = re.sub(r"\$\{?\w+\}?", ".*", concrete)
            rules = Path(tmp, "rules.yml")
            rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "q", "expr": concrete}]}]}))
            r = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True)
            if r.returncode != 0:
                problem(path, f"panel {title!r}: query {expr!r} does not parse: {tool_output(r, str(rules))}")
