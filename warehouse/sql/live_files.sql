-- How many source files the ledger believes are present (a guard against an unmounted source).
SELECT count(*) FROM file_status WHERE status <> 'deleted';
