"""DAG files generated from a spec: ``adp dags generate`` for the KubernetesPodOperator pattern.

Contract: ``load_spec(path)`` reads a small YAML spec (a package, its image, its jobs) and
either returns a validated ``DagSpec`` or raises ``SpecError`` naming the file, the field and
the fix. ``plan(spec, ...)`` renders one DAG file per job (dag_id ``<package>_<name>``, the
image tag injected, every value written as a Python literal, ``ruff format``-clean, born valid
under ``adp dags validate``) and compares it with what the output folder holds; ``apply``
writes the plan atomically, file by file, and only when no file it would replace or delete is
hand-written or hand-edited (the header's marker and digest say so), unless forced. Nothing is
written on bad input or a refusal. Pure library: no typer, no rich. docs/how-to/generate-kpo-dags.md
is the user's guide.

Modules: ``spec`` (the YAML spec and its checks), ``render`` (the Jinja2 template, literals,
the header), ``plan`` (what would change in the output folder, and writing it).
"""
