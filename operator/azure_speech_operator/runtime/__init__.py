"""The kind-independent operator: everything around a reconcile pass, for every kind.

A kind (speechendpoint/, voiceendpoint/) brings its CRD coordinates, its spec, its pure `plan` and its
steps in Azure as a `kind.Kind`, and registers it with `handlers.register`; it never touches kopf. The
runtime:

- `handlers`: the kopf handlers of a kind (create/update/resume, delete, each object's drift check), the
  object's lock, come-backs, status write, events, log lines, metrics;
- `drift`: one task that runs every object's drift check and come-backs when they are due;
- `engine`: one pass, the kind's plan and steps interpreted, with the steps on the resource itself;
- `writer`: the direct patches of the resource (create-pending mark, endpoint id, status) and its export;
- `context` (what handlers share: settings, clients, clock), `credentials` (spec.azure.credentials and the
  labelled-Secret watch), `export` (the owned ConfigMap), `metrics`, `oplog` (the operator's log) and
  `wakeup` (changes reach handlers that wait to retry).

What the kinds' pure logic shares with it lives outside, in reconcile.py and conditions.py, so that the logic
never imports kopf, Kubernetes or this package (tests/unit/test_runtime_layers.py).
"""
