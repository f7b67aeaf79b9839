import { z } from "zod";

export const hetznerLocations = {
  fsn1: "Falkenstein, DE",
  nbg1: "Nuremberg, DE",
  hel1: "Helsinki, FI",
  ash: "Ashburn, US",
  hil: "Hillsboro, US",
  sin: "Singapore",
} as const;

const minutes = (label: string) => z.number({ error: `Enter the ${label} in minutes` }).int().min(15, "At least 15 minutes").max(1440, "At most 24 hours (1440 minutes)");
const hours = (label: string) => z.number({ error: `Enter the ${label} in hours` }).int().min(1, "At least 1 hour").max(168, "At most 168 hours");

/** The admin policy form, as submitted; turned into a Policy by the action. */
export const policyFormSchema = z
  .object({
    allowedSizes: z.array(z.enum(["small", "medium", "large"]), { error: "Allow at least one size" }).min(1, "Allow at least one size"),
    allowedLocations: z
      .array(z.enum(Object.keys(hetznerLocations) as [keyof typeof hetznerLocations]), { error: "Allow at least one location" })
      .min(1, "Allow at least one location"),
    maxWorkspacesPerUser: z.number({ error: "Enter a number" }).int().min(1, "At least 1").max(100, "At most 100"),
    defaultIdleMinutes: minutes("default idle timeout"),
    maxIdleMinutes: minutes("maximum idle timeout"),
    defaultLifetimeHours: hours("default lifetime"),
    maxLifetimeHours: hours("maximum lifetime"),
    allowedLogins: z
      .string()
      .optional()
      .transform((value) => [...new Set((value ?? "").split(/[\s,]+/).map((login) => login.trim().toLowerCase()).filter(Boolean))])
      .refine((logins) => logins.every((login) => /^[a-z0-9](?:[a-z0-9-]{0,38})$/.test(login)), "GitHub logins are letters, digits and hyphens"),
  })
  .refine((form) => form.defaultIdleMinutes <= form.maxIdleMinutes, { path: ["defaultIdleMinutes"], message: "The default is above the maximum" })
  .refine((form) => form.defaultLifetimeHours <= form.maxLifetimeHours, { path: ["defaultLifetimeHours"], message: "The default is above the maximum" });
