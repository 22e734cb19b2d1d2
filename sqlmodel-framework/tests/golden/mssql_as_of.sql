SELECT as_of.customer_id, as_of.name, as_of.segment, as_of.created_at, as_of.updated_at, as_of.systime, as_of.changed_by, as_of.inactivated_at 
FROM (SELECT customer_id, name, segment, created_at, updated_at, systime, changed_by, inactivated_at FROM sales.gd_customer FOR SYSTEM_TIME AS OF :as_of) AS as_of 
WHERE as_of.inactivated_at IS NULL OR as_of.inactivated_at > :as_of ORDER BY as_of.customer_id
