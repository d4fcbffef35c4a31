-- The schema release 1 (schema version 1) made, as MariaDB shows it (SHOW CREATE TABLE).
CREATE TABLE `streams` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `display_url` text NOT NULL,
  `fingerprint` varchar(64) NOT NULL,
  `subscription_type` varchar(32) DEFAULT NULL,
  `last_seq` bigint(20) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `streams_fingerprint` (`fingerprint`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE `events` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `event_type` varchar(32) DEFAULT NULL,
  `oem_id` varchar(32) DEFAULT NULL,
  `oem_model` varchar(32) DEFAULT NULL,
  `dsn` varchar(32) DEFAULT NULL,
  `time` varchar(32) DEFAULT NULL,
  `user_uuid` varchar(64) DEFAULT NULL,
  `stream_id` int(11) DEFAULT NULL,
  `seq` bigint(20) DEFAULT NULL,
  `property_name` varchar(255) DEFAULT NULL,
  `base_type` varchar(32) DEFAULT NULL,
  `display_name` varchar(255) DEFAULT NULL,
  `value` longtext DEFAULT NULL,
  `raw` longtext DEFAULT NULL,
  `received_at` double DEFAULT NULL,
  `note` longtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `events_stream_id_seq` (`stream_id`,`seq`),
  KEY `events_dsn_event_type_property_name_time` (`dsn`,`event_type`,`property_name`,`time`),
  KEY `events_event_type_time` (`event_type`,`time`),
  KEY `events_time` (`time`),
  CONSTRAINT `events_ibfk_1` FOREIGN KEY (`stream_id`) REFERENCES `streams` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE `malformed_frames` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `stream_id` int(11) DEFAULT NULL,
  `received_at` double NOT NULL,
  `reason` longtext NOT NULL,
  `raw` longtext NOT NULL,
  PRIMARY KEY (`id`),
  KEY `malformed_frames_stream_id` (`stream_id`),
  CONSTRAINT `malformed_frames_ibfk_1` FOREIGN KEY (`stream_id`) REFERENCES `streams` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE `schema_version` (
  `version` int(11) NOT NULL,
  `applied_at` double NOT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
