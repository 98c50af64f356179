-- wirehouse docs: each source path as it stands now, for the files checkpoint.
SELECT * FROM file_status;
