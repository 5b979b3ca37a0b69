-- One Postgres for the compose stack: the app's database (from POSTGRES_DB) plus one
-- database per Ory service. Runs once, when the data volume is first created.
CREATE DATABASE kratos;
CREATE DATABASE hydra;
CREATE DATABASE keto;
