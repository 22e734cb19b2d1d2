CREATE TABLE sales.gd_customer (
	customer_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	segment VARCHAR(20), 
	created_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	systime DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	inactivated_at DATETIME, 
	PRIMARY KEY (customer_id)
);

CREATE INDEX sales.ix_sales_gd_customer_segment ON gd_customer (segment);

CREATE TABLE sales.gd_customer_history (
	history_id INTEGER NOT NULL, 
	customer_id INTEGER, 
	name VARCHAR(100), 
	segment VARCHAR(20), 
	created_at DATETIME, 
	updated_at DATETIME, 
	systime DATETIME, 
	changed_by VARCHAR(128), 
	inactivated_at DATETIME, 
	valid_to DATETIME NOT NULL, 
	operation VARCHAR(1) NOT NULL, 
	ended_by VARCHAR(128), 
	PRIMARY KEY (history_id)
);

CREATE INDEX sales.ix_gd_customer_history_key ON gd_customer_history (customer_id, systime);

CREATE TRIGGER sales.adp_gd_customer_stamps BEFORE UPDATE ON gd_customer FOR EACH ROW
WHEN ((SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gd_customer') IS NOT 'CREATE TABLE gd_customer (
	customer_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	segment VARCHAR(20), 
	created_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	systime DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	inactivated_at DATETIME, 
	PRIMARY KEY (customer_id)
)')
  OR NOT (OLD.customer_id IS NOT NEW.customer_id OR OLD.name IS NOT NEW.name OR OLD.segment IS NOT NEW.segment OR OLD.inactivated_at IS NOT NEW.inactivated_at) AND NOT (NEW."updated_at" IS (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') AND NEW."changed_by" IS OLD."changed_by" AND (NEW."created_at" IS OLD."created_at" OR OLD."created_at" IS NULL) AND (NEW."systime" IS max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD."systime", '+0.001 seconds') || '000', '')) OR NEW."systime" IS (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')))
BEGIN
  SELECT RAISE(ABORT, 'sqlmodel_framework: refusing to change table gd_customer: its definition changed since its triggers were deployed (ALTER TABLE), so the change would not be recorded completely in gd_customer_history. Declare exactly the table''s columns in its model and run deploy() (it adds new columns to the history table and regenerates the triggers)') WHERE (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gd_customer') IS NOT 'CREATE TABLE gd_customer (
	customer_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	segment VARCHAR(20), 
	created_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	systime DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	inactivated_at DATETIME, 
	PRIMARY KEY (customer_id)
)';
  SELECT RAISE(IGNORE);
END;

CREATE TRIGGER sales.adp_gd_customer_insert AFTER INSERT ON gd_customer FOR EACH ROW
BEGIN
  UPDATE gd_customer SET "created_at" = coalesce(NEW."created_at", (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')), "updated_at" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), "systime" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')
  WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER sales.adp_gd_customer_update AFTER UPDATE ON gd_customer FOR EACH ROW
WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.name IS NOT NEW.name OR OLD.segment IS NOT NEW.segment OR OLD.inactivated_at IS NOT NEW.inactivated_at
BEGIN
  INSERT INTO gd_customer_history (customer_id, name, segment, created_at, updated_at, systime, changed_by, inactivated_at, valid_to, operation, ended_by) VALUES (OLD.customer_id, OLD.name, OLD.segment, OLD.created_at, OLD.updated_at, OLD.systime, OLD.changed_by, OLD.inactivated_at, max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD."systime", '+0.001 seconds') || '000', '')), 'U', NULL);
  UPDATE gd_customer SET "created_at" = OLD."created_at", "updated_at" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), "systime" = max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD."systime", '+0.001 seconds') || '000', ''))
  WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER sales.adp_gd_customer_delete AFTER DELETE ON gd_customer FOR EACH ROW
BEGIN
  SELECT RAISE(ABORT, 'sqlmodel_framework: refusing to change table gd_customer: its definition changed since its triggers were deployed (ALTER TABLE), so the change would not be recorded completely in gd_customer_history. Declare exactly the table''s columns in its model and run deploy() (it adds new columns to the history table and regenerates the triggers)') WHERE (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gd_customer') IS NOT 'CREATE TABLE gd_customer (
	customer_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	segment VARCHAR(20), 
	created_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	systime DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	inactivated_at DATETIME, 
	PRIMARY KEY (customer_id)
)';
  INSERT INTO gd_customer_history (customer_id, name, segment, created_at, updated_at, systime, changed_by, inactivated_at, valid_to, operation, ended_by) VALUES (OLD.customer_id, OLD.name, OLD.segment, OLD.created_at, OLD.updated_at, OLD.systime, OLD.changed_by, OLD.inactivated_at, max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(OLD."systime", '')), 'D', NULL);
END;

DROP TABLE sales.gd_customer;

DROP TABLE sales.gd_customer_history;

