-- wirehouse docs: every quarantined file and row, for the quarantine checkpoint.
SELECT * FROM quarantine;
