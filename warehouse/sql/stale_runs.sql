-- Runs still marked running when a new writer holds the lock: they were killed.
SELECT * FROM runs WHERE status = 'running';
