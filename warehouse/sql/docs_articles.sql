-- wirehouse docs: the articles the Data Docs checkpoint validates (what the warehouse holds now).
SELECT * FROM articles;
