"""Kubernetes manifests (deploy/k8s/): kinds, references, probes, the mmserve container."""

import base64
import re
import urllib.parse

from . import source as S
from .source import check_env, image_ok, image_repo, problem


KNOWN_KINDS = {
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "PersistentVolumeClaim"),
    ("v1", "ServiceAccount"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
}
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class K8sObject:
    def __init__(self, path, doc):
        self.path, self.doc = path, doc
        self.kind = doc.get("kind")
        self.name = (doc.get("metadata") or {}).get("name")
        self.where = f"{path.relative_to(S.ROOT)}: {self.kind} {self.name}"

    def get(self, *keys, default=None):
        node = self.doc
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                return default
            node = node[k]
        return node


def cpu_cores(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def subset(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


class K8s:
    def __init__(self, docs):
        self.objects = []
        for path, ds in docs.items():
            if S.DEPLOY / "k8s" not in path.parents:
                continue
            for d in ds:
                if not isinstance(d, dict):
                    problem(path, "a document that is not a mapping")
                    continue
                self.objects.append(K8sObject(path, d))

    def named(self, kind, name):
        return [o for o in self.objects if o.kind == kind and o.name == name]

    def workloads(self):
        return [o for o in self.objects if o.kind in ("Deployment", "StatefulSet")]

    def check(self):
        if not self.objects:
            problem(S.DEPLOY / "k8s", "no Kubernetes manifests")
        seen = {}
        for o in self.objects:
            self.check_common(o, seen)
        for o in self.objects:
            getattr(self, "check_" + str(o.kind), lambda o: None)(o)
        self.check_variants()

    def check_common(self, o, seen):
        api = o.doc.get("apiVersion")
        if (api, o.kind) not in KNOWN_KINDS:
            known = sorted(a for a, k in KNOWN_KINDS if k == o.kind)
            hint = f" (use {', '.join(known)})" if known else ""
            problem(o.where, f"unknown apiVersion/kind {api}/{o.kind}{hint}")
        if not o.name:
            problem(o.where, "metadata.name is missing")
        else:
            pattern = DNS_LABEL if o.kind == "Service" else DNS_SUBDOMAIN
            if not pattern.fullmatch(o.name):
                problem(o.where, f"metadata.name {o.name!r} is not a valid name")
        if o.get("metadata", "namespace"):
            problem(o.where, "metadata.namespace is set: the manifests are namespace-less (kubectl -n picks one)")
        key = (o.path.parent, o.kind, o.name)
        if key in seen:
            problem(o.where, f"defined twice in {o.path.parent.relative_to(S.ROOT)}")
        seen[key] = o

    # -- workloads ------------------------------------------------------------------------

    def check_Deployment(self, o):
        selector = o.get("spec", "selector", "matchLabels")
        labels = o.get("spec", "template", "metadata", "labels")
        if not selector:
            problem(o.where, "spec.selector.matchLabels is missing")
        elif not subset(selector, labels):
            problem(o.where, f"spec.selector.matchLabels {selector} does not match the pod template's labels {labels}")
        replicas = o.get("spec", "replicas", default=1)
        if not isinstance(replicas, int) or replicas < 0:
            problem(o.where, f"spec.replicas {replicas!r} is not a count")
        pod = o.get("spec", "template", "spec")
        if not isinstance(pod, dict):
            problem(o.where, "spec.template.spec is missing")
            return
        self.check_pod(o, pod)

    check_StatefulSet = check_Deployment

    def check_pod(self, o, pod):
        containers = pod.get("containers") or []
        if not containers:
            problem(o.where, "no containers")
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        for v in volumes.values():
            self.check_volume(o, v)
        pod_sc = pod.get("securityContext") or {}
        for kind, group in (("container", containers), ("initContainer", pod.get("initContainers") or [])):
            for c in group:
                where = f"{o.where}: {kind} {c.get('name')}"
                if not c.get("name"):
                    problem(where, "has no name")
                image_ok(where, c.get("image"))
                sc = c.get("securityContext") or {}
                if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))):
                    problem(where, "securityContext.runAsNonRoot is not true (pod or container)")
                if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                    problem(where, "runs as user 0")
                if not sc.get("readOnlyRootFilesystem"):
                    problem(where, "securityContext.readOnlyRootFilesystem is not true")
                res = c.get("resources") or {}
                for part in ("requests", "limits"):
                    for r in ("cpu", "memory"):
                        if r not in (res.get(part) or {}):
                            problem(where, f"resources.{part}.{r} is missing")
                for m in c.get("volumeMounts") or []:
                    if m.get("name") not in volumes:
                        problem(where, f"volumeMount {m.get('name')} names no volume of the pod")
                env = self.container_env(where, c)
                self.check_probes(where, c)
                if kind == "container" and image_repo(c.get("image")) == "mmserve":
                    self.check_mmserve(o, pod, c, env, volumes, where)

    def check_volume(self, o, v):
        where = f"{o.where}: volume {v.get('name')}"
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"].get("claimName")
            if not self.named("PersistentVolumeClaim", claim):
                problem(where, f"PersistentVolumeClaim {claim} is not defined in deploy/k8s")
        for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
            if key in v:
                ref = v[key].get("name" if kind == "ConfigMap" else "secretName")
                found = self.named(kind, ref)
                if not found and not v[key].get("optional"):
                    problem(where, f"{kind} {ref} is not defined in deploy/k8s")
                for item in v[key].get("items") or []:
                    if found and item.get("key") not in self.keys(found[0]):
                        problem(where, f"{kind} {ref} has no key {item.get('key')}")

    @staticmethod
    def keys(obj):
        return set(obj.get("data", default={}) or {}) | set(obj.get("stringData", default={}) or {})

    def container_env(self, where, c):
        """The container's environment: name -> value (None where it comes from a Secret)."""
        env = {}
        for ef in c.get("envFrom") or []:
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in ef:
                    ref = ef[key].get("name")
                    found = self.named(kind, ref)
                    if not found:
                        if not ef[key].get("optional"):
                            problem(where, f"envFrom {kind} {ref} is not defined in deploy/k8s")
                        continue
                    data = found[0].get("data", default={}) or {}
                    data = {**data, **(found[0].get("stringData", default={}) or {})}
                    for k, val in data.items():
                        env[ef.get("prefix", "") + k] = val if kind == "ConfigMap" else None
        for e in c.get("env") or []:
            name = e.get("name")
            ref = e.get("valueFrom") or {}
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                if key in ref:
                    found = self.named(kind, ref[key].get("name"))
                    if not found:
                        if not ref[key].get("optional"):
                            problem(where, f"env {name}: {kind} {ref[key].get('name')} is not defined in deploy/k8s")
                    elif ref[key].get("key") not in self.keys(found[0]):
                        problem(where, f"env {name}: {kind} {ref[key].get('name')} has no key {ref[key].get('key')}")
            env[name] = e.get("value")
            check_env(where, name, e.get("value"))  # envFrom's keys are checked with their ConfigMap
        return env

    def check_probes(self, where, c):
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe) or {}
            for action in ("httpGet", "tcpSocket"):
                port = (p.get(action) or {}).get("port")
                if port is None:
                    continue
                if port not in ports and port not in ports.values():
                    problem(where, f"{probe} port {port} is no port of the container ({sorted(ports)})")

    def check_mmserve(self, o, pod, c, env, volumes, where):
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        port = int(env.get("MMSERVE_PORT") or S.SRC.default_port or 0)
        if port not in ports.values():
            problem(where, f"no containerPort {port}, the port mmserve listens on (MMSERVE_PORT or --port's default)")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe)
            if not p:
                problem(where, f"no {probe}")
                continue
            http = p.get("httpGet")
            if not http:
                problem(where, f"{probe} is not an httpGet probe of the server's health routes")
                continue
            if not S.SRC.has_route(http.get("path", "/")):
                problem(where, f"{probe} path {http.get('path')} is not a GET route of the server "
                               f"({S.SRC.describe_routes()})")
            if ports.get(http.get("port"), http.get("port")) != port:
                problem(where, f"{probe} port {http.get('port')} is not the server's port {port}")
        startup = c.get("startupProbe") or {}
        budget = startup.get("failureThreshold", 3) * startup.get("periodSeconds", 10)
        if startup and budget < 600:
            problem(where, f"startupProbe allows {budget} s (failureThreshold x periodSeconds) for models to "
                           f"load: make it at least 600")
        ready = (c.get("readinessProbe") or {}).get("httpGet", {}).get("path")
        if ready and ready != "/v2/health/ready":
            problem(where, f"readinessProbe path {ready}: use /v2/health/ready (every model ready)")
        pre_stop = 0
        stop = (c.get("lifecycle") or {}).get("preStop") or {}
        if "sleep" in stop:
            pre_stop = int(stop["sleep"].get("seconds", 0))
        elif "exec" in stop:
            cmd = stop["exec"].get("command") or []
            if len(cmd) == 2 and cmd[0] in ("sleep", "/bin/sleep"):
                pre_stop = int(float(cmd[1]))
        if not pre_stop:
            problem(where, "no preStop sleep: endpoints may still send requests after SIGTERM stops the server")
        exit_timeout = int(env.get("MMSERVE_EXIT_TIMEOUT_SECS") or S.SRC.default_exit_timeout or 0)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= exit_timeout + pre_stop:
            problem(o.where, f"terminationGracePeriodSeconds {grace} leaves no margin over the exit timeout "
                             f"({exit_timeout} s) plus the preStop sleep ({pre_stop} s)")
        threads = env.get("MMSERVE_THREADS")
        cpu = ((c.get("resources") or {}).get("limits") or {}).get("cpu")
        if threads and cpu and int(threads) > cpu_cores(cpu):
            problem(where, f"MMSERVE_THREADS {threads} is more than the CPU limit {cpu}")
        mounts = c.get("volumeMounts") or []
        for name, value in env.items():
            if name.startswith("MMSERVE_") and isinstance(value, str) and value.startswith("/"):
                self.check_path_mounted(where, name, value, mounts, volumes)
        if "MMSERVE_MODEL_REPOSITORY" not in env and S.SRC.flags:
            problem(where, "MMSERVE_MODEL_REPOSITORY is not set (--model-repository is required)")
        redis = env.get("MMSERVE_REDIS_URL")
        if redis:
            url = urllib.parse.urlparse(redis)
            svc = self.named("Service", url.hostname)
            if not svc:
                problem(where, f"MMSERVE_REDIS_URL names host {url.hostname}, which is no Service in deploy/k8s")
            elif (url.port or 6379) not in [p.get("port") for p in svc[0].get("spec", "ports", default=[])]:
                problem(where, f"MMSERVE_REDIS_URL port {url.port or 6379} is no port of Service {url.hostname}")

    def check_path_mounted(self, where, name, path, mounts, volumes):
        best = None
        for m in mounts:
            mp = m.get("mountPath", "").rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                if best is None or len(mp) > len(best.get("mountPath", "").rstrip("/")):
                    best = m
        if best is None:
            problem(where, f"{name}={path}: no volumeMount covers it")
            return
        rel = path[len(best["mountPath"].rstrip("/")):].lstrip("/")
        vol = volumes.get(best.get("name")) or {}
        for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
            if key in vol and rel:
                ref = vol[key].get("secretName" if kind == "Secret" else "name")
                items = vol[key].get("items")
                files = {i.get("path") for i in items} if items else set()
                if not items:
                    found = self.named(kind, ref)
                    files = self.keys(found[0]) if found else set()
                if rel not in files:
                    problem(where, f"{name}={path}: {kind} {ref} mounted at {best['mountPath']} has no file {rel} "
                                   f"({sorted(files)})")

    # -- other kinds ----------------------------------------------------------------------

    def pods_selected(self, selector):
        return [w for w in self.workloads() if subset(selector, w.get("spec", "template", "metadata", "labels"))]

    def check_Service(self, o):
        selector = o.get("spec", "selector")
        targets = self.pods_selected(selector)
        if not targets:
            problem(o.where, f"selector {selector} matches the pods of no Deployment in deploy/k8s")
        ports = o.get("spec", "ports", default=[]) or []
        if not ports:
            problem(o.where, "no ports")
        for p in ports:
            target = p.get("targetPort", p.get("port"))
            for w in targets:
                cports = [cp for c in w.get("spec", "template", "spec", "containers", default=[])
                          for cp in c.get("ports") or []]
                if not any(target in (cp.get("name"), cp.get("containerPort")) for cp in cports):
                    problem(o.where, f"targetPort {target} is no container port of Deployment {w.name}")
        ann = o.get("metadata", "annotations", default={}) or {}
        if "prometheus.io/scrape" in ann:
            if ann["prometheus.io/scrape"] not in ("true", "false"):
                problem(o.where, "prometheus.io/scrape must be the string \"true\" or \"false\"")
            path = ann.get("prometheus.io/path", "/metrics")
            if not S.SRC.has_route(path):
                problem(o.where, f"prometheus.io/path {path} is not a GET route of the server")
            port = ann.get("prometheus.io/port")
            for w in targets:
                cports = [cp.get("containerPort") for c in w.get("spec", "template", "spec", "containers", default=[])
                          for cp in c.get("ports") or []]
                if port is not None and (not str(port).isdigit() or int(port) not in cports):
                    problem(o.where, f"prometheus.io/port {port} is no container port of Deployment {w.name} "
                                     f"({cports})")

    def check_HorizontalPodAutoscaler(self, o):
        ref = o.get("spec", "scaleTargetRef", default={}) or {}
        targets = self.named(ref.get("kind"), ref.get("name"))
        if ref.get("kind") not in ("Deployment", "StatefulSet") or ref.get("apiVersion") != "apps/v1" or not targets:
            problem(o.where, f"scaleTargetRef {ref.get('apiVersion')}/{ref.get('kind')} {ref.get('name')} "
                             f"names no Deployment in deploy/k8s")
        lo, hi = o.get("spec", "minReplicas", default=1), o.get("spec", "maxReplicas")
        if not isinstance(hi, int) or lo > hi:
            problem(o.where, f"minReplicas {lo} / maxReplicas {hi} are not a range")
        metrics = o.get("spec", "metrics", default=[]) or []
        if not metrics:
            problem(o.where, "no metrics")
        for m in metrics:
            res = m.get("resource") or {}
            if m.get("type") == "Resource" and res.get("target", {}).get("type") == "Utilization":
                for t in targets:
                    for c in t.get("spec", "template", "spec", "containers", default=[]):
                        if res.get("name") not in ((c.get("resources") or {}).get("requests") or {}):
                            problem(o.where, f"{res.get('name')} utilization needs resources.requests."
                                             f"{res.get('name')} on container {c.get('name')} of {t.name}")
        for t in targets:
            replicas = t.get("spec", "replicas", default=1)
            if isinstance(hi, int) and not lo <= replicas <= hi:
                problem(o.where, f"Deployment {t.name} asks for {replicas} replicas, outside {lo}..{hi}")

    def check_PodDisruptionBudget(self, o):
        spec = o.get("spec", default={}) or {}
        if ("minAvailable" in spec) == ("maxUnavailable" in spec):
            problem(o.where, "give exactly one of minAvailable and maxUnavailable")
        targets = self.pods_selected(o.get("spec", "selector", "matchLabels"))
        if not targets:
            problem(o.where, "selector matches the pods of no Deployment in deploy/k8s")
        for t in targets:
            replicas = t.get("spec", "replicas", default=1)
            if isinstance(spec.get("minAvailable"), int) and spec["minAvailable"] >= replicas:
                problem(o.where, f"minAvailable {spec['minAvailable']} with {replicas} replicas of "
                                 f"{t.name} blocks every voluntary eviction")

    def check_ConfigMap(self, o):
        for k, v in (o.get("data", default={}) or {}).items():
            if not isinstance(v, str):
                problem(o.where, f"data.{k} is {type(v).__name__} {v!r}: ConfigMap values must be strings (quote it)")
            check_env(o.where, k, v)

    def check_Secret(self, o):
        data, string_data = o.get("data", default={}) or {}, o.get("stringData", default={}) or {}
        if not data and not string_data:
            problem(o.where, "no data or stringData")
        for k, v in data.items():
            try:
                base64.b64decode(str(v), validate=True)
            except ValueError:
                problem(o.where, f"data.{k} is not base64")
        for k, v in string_data.items():
            if not isinstance(v, str):
                problem(o.where, f"stringData.{k} must be a string")
        # An example Secret applied as it is must not open anything: every value is a
        # placeholder the server refuses to start with (src/api/auth.h's marker), so that
        # forgetting to replace one is an error at start rather than a known key.
        marker = S.SRC.placeholder_marker
        if marker:
            for k, v in string_data.items():
                lines = [ln.strip() for ln in str(v).splitlines() if ln.strip() and not ln.strip().startswith("#")]
                for ln in lines or [""]:
                    if marker not in ln:
                        # The value is not shown: this may run on a real Secret.
                        problem(o.where, f"stringData.{k}: a line without the placeholder marker {marker!r} "
                                         f"(which the server refuses); examples must not ship a usable secret")
            for k in data:
                problem(o.where, f"data.{k}: example secrets go in stringData as {marker!r} placeholders")

    def check_PersistentVolumeClaim(self, o):
        if not o.get("spec", "accessModes"):
            problem(o.where, "spec.accessModes is missing")
        if not o.get("spec", "resources", "requests", "storage"):
            problem(o.where, "spec.resources.requests.storage is missing")

    def check_variants(self):
        """Alternative Deployments of the same name (deploy/k8s/s3-sync/) keep the same containers."""
        by_name = {}
        for w in self.workloads():
            by_name.setdefault(w.name, []).append(w)
        for name, ws in by_name.items():
            base = ws[0]
            for other in ws[1:]:
                a = {c.get("name"): c for c in base.get("spec", "template", "spec", "containers", default=[])}
                for c in other.get("spec", "template", "spec", "containers", default=[]):
                    if c.get("name") in a and c != a[c.get("name")]:
                        diff = sorted(k for k in set(c) | set(a[c["name"]]) if c.get(k) != a[c["name"]].get(k))
                        problem(other.where, f"container {c['name']} differs from {base.path.relative_to(S.ROOT)}'s "
                                             f"in {', '.join(diff)}")
