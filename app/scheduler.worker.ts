/**
 * The scheduler Worker (scripts/scheduler.wrangler.toml): a Cron Trigger every 5 minutes runs the sweep
 * (docs/architecture.md, "Sweep") with the same bindings, configuration and load context as the Pages app.
 */
import { getLoadContext } from "./platform/context.server";
import { runSweep } from "./workspaces/sweep.server";

export default {
  async scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const context = getLoadContext({ context: { cloudflare: { env, ctx } } });
    ctx.waitUntil(
      runSweep({ db: context.db, config: context.config }).then((report) => {
        const summary = `sweep (${controller.cron}): ${report.stopped.length} stopped, ${report.provisioningTimedOut.length} timed out, ${report.orphanServersDeleted.length} orphan servers and ${report.orphanDnsRecordsDeleted.length} orphan DNS records deleted, ${report.bootstrapTokensPurged} bootstrap tokens purged`;
        if (report.errors.length) console.error(`${summary}; errors:\n  ${report.errors.join("\n  ")}`);
        else console.log(summary);
      }),
    );
  },
} satisfies ExportedHandler<Env>;
