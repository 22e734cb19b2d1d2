CREATE TABLE sales.gd_customer (
	customer_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	segment VARCHAR(20) NULL, 
	created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(), 
	updated_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(), 
	systime DATETIME2 GENERATED ALWAYS AS ROW START NOT NULL, 
	valid_to DATETIME2 GENERATED ALWAYS AS ROW END HIDDEN NOT NULL, 
	changed_by VARCHAR(128) NULL DEFAULT SUSER_SNAME(), 
	inactivated_at DATETIME2 NULL, 
	PRIMARY KEY (customer_id), 
	PERIOD FOR SYSTEM_TIME (systime, valid_to)
) WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = sales.gd_customer_history, DATA_CONSISTENCY_CHECK = ON));

CREATE INDEX ix_sales_gd_customer_segment ON sales.gd_customer (segment);

ALTER TABLE sales.gd_customer SET (SYSTEM_VERSIONING = OFF);

DROP TABLE sales.gd_customer;

DROP TABLE sales.gd_customer_history;

