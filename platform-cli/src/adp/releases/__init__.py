"""DAG releases: the release store and the publisher's side of DAG distribution.

Invariant: a release ``<env>/<package>/releases/<version>/`` is written once and never changes
(every object is created only if its key is free, the manifest last, so a release without a
manifest is incomplete and is never pointed at), and ``<env>/<package>/current.json`` only
moves by a conditional write from the state its writer read: of concurrent movers exactly one
wins and the others get ``PointerConflict``, so no update is lost and the pointer's
``previous`` chain is its history. A publication writes only under ``<env>/<package>/``, only
files whose paths stay inside the release, and only after the validation library found nothing
at or above error and every DAG id starts with ``<package>_``.

Modules: ``names`` (names and keys), ``manifest`` (the documents), ``store`` (the storage
protocol and its errors), ``local_store`` and ``s3_store`` (the two stores), ``pointer``
(reading and moving current.json), ``publish`` (validate, write, move), ``listing``. Pure
library: no typer, no rich. docs/dag-releases.md is the user's guide.
"""
