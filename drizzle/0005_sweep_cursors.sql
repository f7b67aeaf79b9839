CREATE TABLE `sweep_cursors` (
	`pass` text PRIMARY KEY NOT NULL,
	`after` text NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
