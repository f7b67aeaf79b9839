// A local stand-in for Cloudflare's Origin CA: a CA made at start-up that signs posted CSRs with the
// `openssl` command line tool.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export class OriginCa {
  readonly certPath: string;
  private readonly keyPath: string;
  private counter = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.certPath = join(dir, "origin-ca.pem");
    this.keyPath = join(dir, "origin-ca.key");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        this.keyPath,
        "-out",
        this.certPath,
        "-days",
        "3650",
        "-subj",
        "/O=Local Cloud/OU=Origin CA/CN=Local Cloud Origin CA (not trusted)",
      ],
      { stdio: "pipe" },
    );
  }

  get certificate(): string {
    return readFileSync(this.certPath, "utf8");
  }

  /** Inspects a CSR: its public key algorithm ("rsa" | "ec") or an error message. */
  inspectCsr(csr: string): { keyType: "rsa" | "ec" } | { error: string } {
    try {
      const text = execFileSync("openssl", ["req", "-noout", "-text", "-verify"], {
        input: csr,
        stdio: ["pipe", "pipe", "pipe"],
      }).toString();
      if (/Public Key Algorithm:\s*rsaEncryption/.test(text)) return { keyType: "rsa" };
      if (/Public Key Algorithm:\s*id-ecPublicKey/.test(text)) return { keyType: "ec" };
      return { error: "unsupported public key algorithm in CSR" };
    } catch (error) {
      return {
        error: `CSR could not be parsed: ${
          String((error as { stderr?: Buffer }).stderr ?? error)
            .trim()
            .split("\n")[0]
        }`,
      };
    }
  }

  /** Signs the CSR for `hostnames`, valid for `days`. Returns the PEM certificate and its serial (decimal). */
  sign(csr: string, hostnames: string[], days: number): { certificate: string; serial: string; expiresOn: Date } {
    const work = join(this.dir, `req-${++this.counter}`);
    mkdirSync(work, { recursive: true });
    const csrPath = join(work, "req.csr");
    const extPath = join(work, "ext.cnf");
    writeFileSync(csrPath, csr);
    writeFileSync(
      extPath,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${hostnames.map((h) => `DNS:${h}`).join(",")}`,
      ].join("\n"),
    );
    // Cloudflare certificate ids are at most 32 characters: the decimal serial stays below that.
    const serialHex = `1${randomBytes(11).toString("hex")}`;
    const certificate = execFileSync(
      "openssl",
      [
        "x509",
        "-req",
        "-in",
        csrPath,
        "-CA",
        this.certPath,
        "-CAkey",
        this.keyPath,
        "-set_serial",
        `0x${serialHex}`,
        "-days",
        String(days),
        "-extfile",
        extPath,
        "-sha256",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    ).toString();
    return {
      certificate,
      serial: BigInt(`0x${serialHex}`).toString(10),
      expiresOn: new Date(Date.now() + days * 86_400_000),
    };
  }
}
