CREATE TABLE gd_payment (
	payment_id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	amount FLOAT NOT NULL, 
	paid_at DATETIME NOT NULL, 
	created_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	systime DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	PRIMARY KEY (payment_id)
);

CREATE TRIGGER adp_gd_payment_stamps BEFORE UPDATE ON gd_payment FOR EACH ROW
WHEN ((SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gd_payment') IS NOT 'CREATE TABLE gd_payment (
	payment_id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	amount FLOAT NOT NULL, 
	paid_at DATETIME NOT NULL, 
	created_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	systime DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	PRIMARY KEY (payment_id)
)')
  OR NOT (OLD.payment_id IS NOT NEW.payment_id OR OLD.customer_id IS NOT NEW.customer_id OR OLD.amount IS NOT NEW.amount OR OLD.paid_at IS NOT NEW.paid_at) AND NOT (NEW."updated_at" IS (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') AND NEW."changed_by" IS OLD."changed_by" AND (NEW."created_at" IS OLD."created_at" OR OLD."created_at" IS NULL) AND (NEW."systime" IS max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD."systime", '+0.001 seconds') || '000', '')) OR NEW."systime" IS (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')))
BEGIN
  SELECT RAISE(ABORT, 'sqlmodel_framework: refusing to change table gd_payment: its definition changed since its triggers were deployed (ALTER TABLE), so its stamps (systime, updated_at) would not follow the change. Declare exactly the table''s columns in its model and run deploy() (it adds new columns to the history table and regenerates the triggers)') WHERE (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gd_payment') IS NOT 'CREATE TABLE gd_payment (
	payment_id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	amount FLOAT NOT NULL, 
	paid_at DATETIME NOT NULL, 
	created_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	updated_at DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	systime DATETIME DEFAULT (strftime(''%Y-%m-%d %H:%M:%f'', ''now'') || ''000'') NOT NULL, 
	changed_by VARCHAR(128) DEFAULT NULL, 
	PRIMARY KEY (payment_id)
)';
  SELECT RAISE(IGNORE);
END;

CREATE TRIGGER adp_gd_payment_insert AFTER INSERT ON gd_payment FOR EACH ROW
BEGIN
  UPDATE gd_payment SET "created_at" = coalesce(NEW."created_at", (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')), "updated_at" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), "systime" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')
  WHERE payment_id = NEW.payment_id;
END;

CREATE TRIGGER adp_gd_payment_update AFTER UPDATE ON gd_payment FOR EACH ROW
WHEN OLD.payment_id IS NOT NEW.payment_id OR OLD.customer_id IS NOT NEW.customer_id OR OLD.amount IS NOT NEW.amount OR OLD.paid_at IS NOT NEW.paid_at
BEGIN
  UPDATE gd_payment SET "created_at" = OLD."created_at", "updated_at" = (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), "systime" = max((strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'), coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD."systime", '+0.001 seconds') || '000', ''))
  WHERE payment_id = NEW.payment_id;
END;

DROP TABLE gd_payment;

