"""The runtime image driver: build, tag, lock and push the per-DAG-type runtime images.

Contract: every folder of the platform's ``runtime-environments/`` that holds a type's files is
a runtime type (``discovery``); each builds from the one shared ``runtime-environments/Dockerfile``
with its optional ``runtime.dockerfile`` inserted, in its own throw-away build context, in
parallel, and is tagged ``<registry>/<repo>:<type>-<version>`` (``config``: images.env, facts.env
and the environment, validated before anything runs). One type failing never hides another's
result (``builder``). A lock is ``uv pip compile`` of the type's pyproject with hashes
(``locking``); ``scaffold`` creates a type folder. Credentials reach builds only as BuildKit
secrets, never as an argument, a layer or a log line. It works on the platform's source tree
(found from this package's file, else from the current folder) and says so when there is none.
Pure library: no typer; ``adp images`` (adp.cli.images) is the thin command line over it.
"""
