/**
 * The scheduler Worker (scripts/scheduler.wrangler.toml): a Cron Trigger every 5 minutes runs the sweep
 * (ARCHITECTURE.md §2) with the same bindings, configuration and load context as the Pages app.
 */
import { getLoadContext } from "./context.server";
import { runSweep } from "./sweep.server";

/** getLoadContext takes the request a page would have; a cron run has none, so it gets a placeholder. */
const CRON_REQUEST_URL = "https://scheduler.invalid/cron";

export default {
  async scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const context = getLoadContext({ request: new Request(CRON_REQUEST_URL), context: { cloudflare: { env, ctx } } });
    ctx.waitUntil(
      runSweep({ db: context.db, config: context.config, env }).then((report) => {
        const summary = `sweep (${controller.cron}): ${report.stopped.length} stopped, ${report.provisioningTimedOut.length} timed out, ${report.orphanServersDeleted.length} orphan servers deleted, ${report.bootstrapTokensPurged} bootstrap tokens purged`;
        if (report.errors.length) console.error(`${summary}; errors:\n  ${report.errors.join("\n  ")}`);
        else console.log(summary);
      }),
    );
  },
} satisfies ExportedHandler<Env>;
