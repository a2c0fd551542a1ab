"""The fields deploy/ may use, written from the published API references: Kubernetes v1.29
(Deployment apps/v1, Service/ConfigMap/PersistentVolumeClaim v1, PodSpec, Container, Probe,
Lifecycle) and KServe's serving.kserve.io/v1alpha1 ServingRuntime / ClusterServingRuntime and
v1beta1 InferenceService. Only the subset ringserve's manifests need is listed: a field outside it
is reported, so a typo (`readinesProbe`) or a field of the wrong object cannot pass.

check(doc) -> list of "Kind/name: path: problem".
"""

# A schema is: dict (field -> schema) for an object, [schema] for a list, or one of the leaf
# types below. "*" in a dict: any key, values of that schema.
STR, INT, BOOL, INT_OR_STR, QUANTITY = "string", "integer", "boolean", "int-or-string", "quantity"

LABELS = {"*": STR}
METADATA = {"name": STR, "namespace": STR, "labels": LABELS, "annotations": LABELS}
PORT_REF = INT_OR_STR
HTTP_GET = {"path": STR, "port": PORT_REF, "host": STR, "scheme": STR,
            "httpHeaders": [{"name": STR, "value": STR}]}
EXEC = {"command": [STR]}
PROBE = {"httpGet": HTTP_GET, "exec": EXEC, "tcpSocket": {"port": PORT_REF, "host": STR},
         "grpc": {"port": INT, "service": STR}, "initialDelaySeconds": INT, "periodSeconds": INT,
         "timeoutSeconds": INT, "successThreshold": INT, "failureThreshold": INT,
         "terminationGracePeriodSeconds": INT}
HANDLER = {"exec": EXEC, "httpGet": HTTP_GET, "sleep": {"seconds": INT}}
RESOURCES = {"requests": {"*": QUANTITY}, "limits": {"*": QUANTITY}}
SECURITY_CONTEXT = {"runAsUser": INT, "runAsGroup": INT, "runAsNonRoot": BOOL, "readOnlyRootFilesystem": BOOL,
                    "allowPrivilegeEscalation": BOOL, "privileged": BOOL,
                    "capabilities": {"add": [STR], "drop": [STR]}, "seccompProfile": {"type": STR}}
ENV_VAR = {"name": STR, "value": STR,
           "valueFrom": {"configMapKeyRef": {"name": STR, "key": STR, "optional": BOOL},
                         "secretKeyRef": {"name": STR, "key": STR, "optional": BOOL},
                         "fieldRef": {"fieldPath": STR, "apiVersion": STR}}}
CONTAINER = {"name": STR, "image": STR, "imagePullPolicy": STR, "command": [STR], "args": [STR],
             "workingDir": STR, "env": [ENV_VAR],
             "envFrom": [{"configMapRef": {"name": STR, "optional": BOOL},
                          "secretRef": {"name": STR, "optional": BOOL}, "prefix": STR}],
             "ports": [{"name": STR, "containerPort": INT, "protocol": STR, "hostPort": INT}],
             "readinessProbe": PROBE, "livenessProbe": PROBE, "startupProbe": PROBE,
             "lifecycle": {"preStop": HANDLER, "postStart": HANDLER}, "resources": RESOURCES,
             "securityContext": SECURITY_CONTEXT,
             "volumeMounts": [{"name": STR, "mountPath": STR, "readOnly": BOOL, "subPath": STR}]}
VOLUME = {"name": STR, "emptyDir": {"medium": STR, "sizeLimit": QUANTITY},
          "persistentVolumeClaim": {"claimName": STR, "readOnly": BOOL},
          "configMap": {"name": STR, "items": [{"key": STR, "path": STR}], "defaultMode": INT}}
POD_SPEC = {"containers": [CONTAINER], "initContainers": [CONTAINER], "volumes": [VOLUME],
            "terminationGracePeriodSeconds": INT, "serviceAccountName": STR,
            "securityContext": {"runAsUser": INT, "runAsGroup": INT, "runAsNonRoot": BOOL, "fsGroup": INT,
                                "seccompProfile": {"type": STR}},
            "nodeSelector": LABELS, "imagePullSecrets": [{"name": STR}]}
DEPLOYMENT_SPEC = {"replicas": INT, "selector": {"matchLabels": LABELS},
                   "template": {"metadata": METADATA, "spec": POD_SPEC},
                   "strategy": {"type": STR, "rollingUpdate": {"maxSurge": INT_OR_STR, "maxUnavailable": INT_OR_STR}},
                   "minReadySeconds": INT, "revisionHistoryLimit": INT}
SERVICE_SPEC = {"type": STR, "selector": LABELS, "clusterIP": STR,
                "ports": [{"name": STR, "port": INT, "targetPort": PORT_REF, "protocol": STR, "nodePort": INT}]}
PVC_SPEC = {"accessModes": [STR], "storageClassName": STR, "volumeMode": STR,
            "resources": {"requests": {"storage": QUANTITY}}}
SERVING_RUNTIME_SPEC = {
    "supportedModelFormats": [{"name": STR, "version": STR, "autoSelect": BOOL, "priority": INT}],
    "multiModel": BOOL, "disabled": BOOL, "protocolVersions": [STR], "containers": [CONTAINER],
    "volumes": [VOLUME], "nodeSelector": LABELS, "annotations": LABELS, "labels": LABELS,
    "grpcEndpoint": STR, "grpcDataEndpoint": STR, "httpDataEndpoint": STR, "replicas": INT,
    "storageHelper": {"disabled": BOOL}, "imagePullSecrets": [{"name": STR}],
    "builtInAdapter": {"serverType": STR, "runtimeManagementPort": INT, "memBufferBytes": INT,
                       "modelLoadingTimeoutMillis": INT, "env": [ENV_VAR]}}
INFERENCE_SERVICE_SPEC = {"predictor": {
    "model": {"modelFormat": {"name": STR, "version": STR}, "runtime": STR, "protocolVersion": STR,
              "storageUri": STR, "env": [ENV_VAR], "resources": RESOURCES},
    "minReplicas": INT, "maxReplicas": INT}}

KINDS = {
    ("apps/v1", "Deployment"): {"spec": DEPLOYMENT_SPEC},
    ("v1", "Service"): {"spec": SERVICE_SPEC},
    ("v1", "ConfigMap"): {"data": {"*": STR}},
    ("v1", "PersistentVolumeClaim"): {"spec": PVC_SPEC},
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): {"spec": SERVING_RUNTIME_SPEC},
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): {"spec": SERVING_RUNTIME_SPEC},
    ("serving.kserve.io/v1beta1", "InferenceService"): {"spec": INFERENCE_SERVICE_SPEC},
}
# Enumerations the references define for fields used here.
ENUMS = {
    "protocolVersions": {"v1", "v2", "grpc-v1", "grpc-v2"},
    "protocol": {"TCP", "UDP", "SCTP"},
    "type": None,  # differs per object; Service.type checked below
    "accessModes": {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"},
}


def _leaf(value, kind):
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT_OR_STR:
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    if kind == QUANTITY:
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    raise ValueError(kind)


def _walk(value, schema, path, out):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            out.append(f"{path}: must be an object")
            return
        for k, v in value.items():
            sub = schema.get(k, schema.get("*"))
            if sub is None:
                out.append(f"{path}.{k}: not a field of this object")
                continue
            _walk(v, sub, f"{path}.{k}", out)
            allowed = ENUMS.get(k)
            if allowed:
                for item in v if isinstance(v, list) else [v]:
                    if item not in allowed:
                        out.append(f"{path}.{k}: '{item}' is not one of {sorted(allowed)}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            out.append(f"{path}: must be a list")
            return
        for i, item in enumerate(value):
            _walk(item, schema[0], f"{path}[{i}]", out)
    elif not _leaf(value, schema):
        article = "an" if schema[0] in "aeiou" else "a"
        out.append(f"{path}: must be {article} {schema}, got {value!r}")


def check(doc):
    kind_key = (doc.get("apiVersion"), doc.get("kind"))
    name = (doc.get("metadata") or {}).get("name", "?")
    label = f"{doc.get('kind')}/{name}"
    body = KINDS.get(kind_key)
    if body is None:
        return [f"{label}: unknown apiVersion/kind {kind_key}"]
    out = []
    schema = {"apiVersion": STR, "kind": STR, "metadata": METADATA, **body}
    _walk(doc, schema, label, out)
    if not name or name == "?":
        out.append(f"{label}: metadata.name is required")
    spec = doc.get("spec") or {}
    if doc["kind"] == "Deployment":
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            out.append(f"{label}: spec.selector.matchLabels must match the pod template's labels")
    if doc["kind"] == "Service" and spec.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer",
                                                                          "ExternalName"):
        out.append(f"{label}: spec.type '{spec.get('type')}' is not a Service type")
    if doc["kind"] == "ClusterServingRuntime" and "namespace" in (doc.get("metadata") or {}):
        out.append(f"{label}: a ClusterServingRuntime is cluster-scoped (no namespace)")
    return out
