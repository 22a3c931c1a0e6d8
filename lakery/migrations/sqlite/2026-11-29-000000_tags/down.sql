DROP TABLE lakery_tags;
