"""PostgreSQL triggers: stamp each row version, copy old versions into history.

* ``adp_stamp`` (BEFORE INSERT OR UPDATE, per row) sets ``systime`` (transaction time, and never
  before the old version's start + 1 microsecond), ``updated_at``, keeps ``created_at`` and
  records ``session_user`` in ``changed_by`` (the login role; the principal under GSSAPI).
  An update that changes none of the model's own columns starts no new version (the columns
  are compared as text: json, xml or point columns have no equality operator).
* ``adp_columns`` (BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE, per statement) fails the
  statement when the table's columns are not those the other triggers were generated for (a
  column added or dropped behind deploy()'s back), naming the columns: such a change would not
  be recorded in full. On tables without history it checks INSERT and UPDATE alone (as on
  SQLite, where inserts are stamped by an UPDATE).
* ``adp_history`` (AFTER UPDATE OR DELETE, per row) and ``adp_truncate`` (BEFORE TRUNCATE) copy
  the old version into ``<table>_history``. Their functions are SECURITY DEFINER, so writers
  need no privilege on the history table and cannot forge it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from ..columns import STANDARD_COLUMNS
from ..drift import guard_message_parts, sql_literal
from ..history import short_identifier

_preparer = postgresql.dialect().identifier_preparer
_quote = _preparer.quote

BODY_DELIMITER = "$adp$"


def body_delimiter(body: str) -> str:
    """``$adp$``, or ``$adp1$``, ``$adp2$``, ... when the body holds it (a table named
    ``price$adp$eur`` would end the quoted body early)."""
    delimiter, number = BODY_DELIMITER, 0
    while delimiter in body:
        number += 1
        delimiter = f"$adp{number}$"
    return delimiter


@dataclass(frozen=True)
class TriggerFunction:
    name: str
    body: str
    security_definer: bool

    def qualified(self, table: Table) -> str:
        prefix = f"{_quote(table.schema)}." if table.schema else ""
        return prefix + _quote(self.name)

    def create(self, table: Table) -> str:
        security = "SECURITY DEFINER SET search_path FROM CURRENT " if self.security_definer else ""
        delimiter = body_delimiter(self.body)
        return (
            f"CREATE OR REPLACE FUNCTION {self.qualified(table)}() RETURNS trigger "
            f"LANGUAGE plpgsql {security}AS {delimiter}{self.body}{delimiter}"
        )


@dataclass(frozen=True)
class Trigger:
    name: str
    timing: str
    level: str
    function: TriggerFunction

    def create(self, table: Table) -> str:
        return (
            f"CREATE TRIGGER {_quote(self.name)} {self.timing} ON {_preparer.format_table(table)} "
            f"FOR EACH {self.level} EXECUTE FUNCTION {self.function.qualified(table)}()"
        )


def function_name(table: Table, kind: str) -> str:
    return short_identifier(f"adp_{table.name}_{kind}")


def _stamp_body(table: Table) -> str:
    data = [_quote(c.name) for c in table.columns if c.name not in STANDARD_COLUMNS]
    old = ", ".join(f"OLD.{n}" for n in data)
    new = ", ".join(f"NEW.{n}" for n in data)
    return (
        "\nBEGIN\n"
        "  IF TG_OP = 'INSERT' THEN\n"
        '    NEW."created_at" := coalesce(NEW."created_at", now());\n'
        '    NEW."systime" := now();\n'
        '    NEW."updated_at" := now();\n'
        '    NEW."changed_by" := session_user;\n'
        # As text: json, xml, point, ... have no equality operator, and every type has a
        # text form; a changed representation is a change.
        f"  ELSIF ROW({old})::text IS DISTINCT FROM ROW({new})::text THEN\n"
        '    NEW."created_at" := OLD."created_at";\n'
        '    NEW."systime" := greatest(now(), OLD."systime" + interval \'1 microsecond\');\n'
        '    NEW."updated_at" := now();\n'
        '    NEW."changed_by" := session_user;\n'
        "  ELSE\n"
        "    -- nothing but the stamps changed: no new version\n"
        '    NEW."created_at" := OLD."created_at";\n'
        '    NEW."systime" := OLD."systime";\n'
        '    NEW."updated_at" := OLD."updated_at";\n'
        '    NEW."changed_by" := OLD."changed_by";\n'
        "  END IF;\n"
        "  RETURN NEW;\n"
        "END;\n"
    )


def _history_columns(table: Table) -> tuple[list[str], str]:
    names = [_quote(c.name) for c in table.columns]
    target = ", ".join([*names, '"valid_to"', '"operation"', '"ended_by"'])
    return names, target


def _history_body(table: Table, history: Table) -> str:
    names, target = _history_columns(table)
    old = ", ".join(f"OLD.{n}" for n in names)
    hist = _preparer.format_table(history)
    return (
        "\nBEGIN\n"
        "  IF TG_OP = 'UPDATE' THEN\n"
        '    IF NEW."systime" IS NOT DISTINCT FROM OLD."systime" THEN\n'
        "      RETURN NULL;  -- no new version (see the stamp trigger)\n"
        "    END IF;\n"
        f"    INSERT INTO {hist} ({target})\n"
        f"    VALUES ({old}, NEW.\"systime\", 'U', session_user);\n"
        "  ELSE\n"
        f"    INSERT INTO {hist} ({target})\n"
        f"    VALUES ({old}, greatest(now(), OLD.\"systime\"), 'D', session_user);\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END;\n"
    )


def _truncate_body(table: Table, history: Table) -> str:
    names, target = _history_columns(table)
    return (
        "\nBEGIN\n"
        f"  INSERT INTO {_preparer.format_table(history)} ({target})\n"
        f"  SELECT {', '.join(names)}, greatest(now(), \"systime\"), 'D', session_user\n"
        f"  FROM {_preparer.format_table(table)};\n"
        "  RETURN NULL;\n"
        "END;\n"
    )


def _columns_body(table: Table, history: Table | None) -> str:
    expected = "ARRAY[" + ", ".join(sql_literal(c.name) for c in table.columns) + "]::text[]"
    live = (
        "FROM pg_catalog.pg_attribute a WHERE a.attrelid = TG_RELID AND a.attnum > 0 "
        "AND NOT a.attisdropped"
    )
    before, after = guard_message_parts(table, history)
    before += "its columns differ from those its triggers were deployed for ("
    only_stamped = ""
    if history is None:  # nothing but the stamps of INSERT and UPDATE depend on the columns
        only_stamped = "  IF TG_OP NOT IN ('INSERT', 'UPDATE') THEN\n    RETURN NULL;\n  END IF;\n"
    return (
        "\nDECLARE\n"
        "  extra text;\n"
        "  missing text;\n"
        "BEGIN\n"
        f"{only_stamped}"
        "  SELECT string_agg(a.attname::text, ', ' ORDER BY a.attnum) INTO extra\n"
        f"  {live} AND a.attname::text <> ALL ({expected});\n"
        "  SELECT string_agg(c.name, ', ' ORDER BY c.n) INTO missing\n"
        f"  FROM unnest({expected}) WITH ORDINALITY AS c(name, n)\n"
        f"  WHERE NOT EXISTS (SELECT 1 {live} AND a.attname::text = c.name);\n"
        "  IF extra IS NOT NULL OR missing IS NOT NULL THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE =\n"
        f"      {sql_literal(before)}\n"
        "      || concat_ws('; ', 'not in the triggers: ' || extra, 'missing: ' || missing)\n"
        f"      || {sql_literal(')' + after)};\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END;\n"
    )


def triggers(table: Table, history: Table | None) -> list[Trigger]:
    """The triggers (with their functions) a framework table needs, in creation order."""
    columns = TriggerFunction(
        function_name(table, "columns"), _columns_body(table, history), security_definer=False
    )
    stamp = TriggerFunction(
        function_name(table, "stamp"), _stamp_body(table), security_definer=False
    )
    wanted = [
        Trigger(
            "adp_columns", "BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE", "STATEMENT", columns
        ),
        Trigger("adp_stamp", "BEFORE INSERT OR UPDATE", "ROW", stamp),
    ]
    if history is not None:
        copy = TriggerFunction(
            function_name(table, "history"), _history_body(table, history), security_definer=True
        )
        truncate = TriggerFunction(
            function_name(table, "truncate"), _truncate_body(table, history), security_definer=True
        )
        wanted += [
            Trigger("adp_history", "AFTER UPDATE OR DELETE", "ROW", copy),
            Trigger("adp_truncate", "BEFORE TRUNCATE", "STATEMENT", truncate),
        ]
    return wanted


def _all_function_names(table: Table) -> list[str]:
    return [function_name(table, kind) for kind in ("columns", "stamp", "history", "truncate")]


def create_statements(connection: Connection, table: Table, history: Table | None) -> list[str]:
    statements: list[str] = []
    for trigger in triggers(table, history):
        statements += [trigger.function.create(table), trigger.create(table)]
    return statements


def drop_statements(table: Table, history: Table | None) -> list[str]:
    # The triggers went with the table; their functions stay unless dropped here.
    prefix = f"{_quote(table.schema)}." if table.schema else ""
    return [f"DROP FUNCTION IF EXISTS {prefix}{_quote(n)}()" for n in _all_function_names(table)]


_FUNCTIONS_SQL = text(
    "SELECT p.proname, p.prosrc, p.prosecdef FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = coalesce(CAST(:schema AS text), current_schema()) "
    "AND p.proname = ANY(CAST(:names AS text[]))"
)
_TRIGGERS_SQL = text(
    "SELECT t.tgname, t.tgenabled, p.proname FROM pg_trigger t "
    "JOIN pg_proc p ON p.oid = t.tgfoid "
    "WHERE t.tgrelid = CAST(:relation AS regclass) AND NOT t.tgisinternal"
)


def ensure(connection: Connection, table: Table, history: Table | None) -> list[str]:
    """Create or repair the functions and triggers of ``table``; describe each change."""
    from ..history import execute_ddl

    wanted = triggers(table, history)
    functions = {
        name: (source, definer)
        for name, source, definer in connection.execute(
            _FUNCTIONS_SQL, {"schema": table.schema, "names": _all_function_names(table)}
        )
    }
    existing = {
        name: (enabled, function)
        for name, enabled, function in connection.execute(
            _TRIGGERS_SQL, {"relation": _preparer.format_table(table)}
        )
    }
    actions: list[str] = []
    target = _preparer.format_table(table)
    for trigger in wanted:
        function = trigger.function
        if functions.get(function.name) != (function.body, function.security_definer):
            verb = "replaced" if function.name in functions else "created"
            execute_ddl(connection, [function.create(table)])
            actions.append(f"{verb} function {function.name}() for {table.name}")
        current = existing.get(trigger.name)
        if current is None:
            execute_ddl(connection, [trigger.create(table)])
            actions.append(f"created trigger {trigger.name} on {table.name}")
        elif current[1] != function.name:
            execute_ddl(
                connection,
                [f"DROP TRIGGER {_quote(trigger.name)} ON {target}", trigger.create(table)],
            )
            actions.append(f"replaced trigger {trigger.name} on {table.name}")
        elif current[0] != "O":
            execute_ddl(connection, [f"ALTER TABLE {target} ENABLE TRIGGER {_quote(trigger.name)}"])
            actions.append(f"enabled trigger {trigger.name} on {table.name}")
    stale = {"adp_columns", "adp_stamp", "adp_history", "adp_truncate"} - {t.name for t in wanted}
    for name in sorted(stale & set(existing)):
        execute_ddl(connection, [f"DROP TRIGGER {_quote(name)} ON {target}"])
        actions.append(f"dropped trigger {name} on {table.name} (table keeps no history)")
    return actions
