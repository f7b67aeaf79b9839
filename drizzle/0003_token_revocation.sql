CREATE TABLE `ended_sessions` (
	`session_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`ended_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ended_sessions_user` ON `ended_sessions` (`user_id`,`ended_at`);--> statement-breakpoint
ALTER TABLE `workspaces` ADD `callbacks_revoked_at` integer;