-- The schema release 1 (schema version 1) made, as SQLite shows it: the starting point of the migration tests.
CREATE TABLE "streams" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "display_url" TEXT NOT NULL, "fingerprint" VARCHAR(64) NOT NULL, "subscription_type" VARCHAR(32), "last_seq" INTEGER);
CREATE UNIQUE INDEX "streams_fingerprint" ON "streams" ("fingerprint");
CREATE TABLE "events" ("id" INTEGER NOT NULL PRIMARY KEY, "event_type" VARCHAR(32), "oem_id" VARCHAR(32), "oem_model" VARCHAR(32), "dsn" VARCHAR(32), "time" VARCHAR(32), "user_uuid" VARCHAR(64), "stream_id" INTEGER, "seq" INTEGER, "property_name" VARCHAR(255), "base_type" VARCHAR(32), "display_name" VARCHAR(255), "value" LONGTEXT, "raw" LONGTEXT, "received_at" REAL, "note" LONGTEXT, FOREIGN KEY ("stream_id") REFERENCES "streams" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "events_stream_id_seq" ON "events" ("stream_id", "seq");
CREATE INDEX "events_dsn_event_type_property_name_time" ON "events" ("dsn", "event_type", "property_name", "time");
CREATE INDEX "events_event_type_time" ON "events" ("event_type", "time");
CREATE INDEX "events_time" ON "events" ("time");
CREATE TABLE "malformed_frames" ("id" INTEGER NOT NULL PRIMARY KEY, "stream_id" INTEGER, "received_at" REAL NOT NULL, "reason" LONGTEXT NOT NULL, "raw" LONGTEXT NOT NULL, FOREIGN KEY ("stream_id") REFERENCES "streams" ("id") ON DELETE CASCADE);
CREATE INDEX "malformed_frames_stream_id" ON "malformed_frames" ("stream_id");
CREATE TABLE "schema_version" ("version" INTEGER NOT NULL PRIMARY KEY, "applied_at" REAL NOT NULL);
