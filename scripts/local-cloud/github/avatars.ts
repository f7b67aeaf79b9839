// Avatars for the web host's /avatars/<login>.png, the address simpleUser() gives as avatar_url. GitHub draws
// an identicon for accounts without a picture; this draws one the same way (a 5×5 grid mirrored left to
// right, in a colour taken from the login), so the app's user menu shows a real image locally.
import { createHash } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";

const CELL = 12;
const GRID = 5;
const SIZE = CELL * GRID;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG identicon for `login`: the same login always gets the same picture. */
export function identiconPng(login: string): Buffer {
  const hash = createHash("sha256").update(login.toLowerCase()).digest();
  const colour = [hash[0]! % 160, hash[1]! % 160, hash[2]! % 160].map((value) => value + 48);
  const background = [240, 240, 240];
  const filled = (column: number, row: number) => {
    const mirrored = column < 3 ? column : GRID - 1 - column;
    return (hash[3 + row * 3 + mirrored]! & 1) === 1;
  };
  // Each scanline starts with filter type 0 (none), then RGB bytes.
  const raw = Buffer.alloc(SIZE * (1 + SIZE * 3));
  for (let y = 0; y < SIZE; y++) {
    const line = y * (1 + SIZE * 3);
    for (let x = 0; x < SIZE; x++) {
      const rgb = filled(Math.floor(x / CELL), Math.floor(y / CELL)) ? colour : background;
      raw.set(rgb, line + 1 + x * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
