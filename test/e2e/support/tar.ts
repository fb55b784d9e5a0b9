/**
 * Just enough of the tar format for the end-to-end tier: archives for the Docker API's
 * putArchive (files at exact paths, with modes and owners; PAX headers for long names) and a
 * reader for getArchive's answers and `docker save` output. No dependency beyond Node.
 */

export interface TarEntry {
    /** Path inside the archive, relative, '/'-separated; a trailing '/' is not needed for directories. */
    path: string;
    /** File content; absent for a directory. */
    content?: Buffer;
    /** Permission bits. Default 0o644 for files, 0o755 for directories. */
    mode?: number;
    uid?: number;
    gid?: number;
    type?: "file" | "directory";
}

const BLOCK = 512;

function octal(value: number, width: number): string {
    return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number, mode: number, typeflag: string, uid: number, gid: number): Buffer {
    const block = Buffer.alloc(BLOCK, 0);
    block.write(name, 0, 100, "utf8");
    block.write(octal(mode & 0o7777, 8), 100, 8, "ascii");
    block.write(octal(uid, 8), 108, 8, "ascii");
    block.write(octal(gid, 8), 116, 8, "ascii");
    block.write(octal(size, 12), 124, 12, "ascii");
    block.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, "ascii");
    block.write("        ", 148, 8, "ascii"); // checksum placeholder
    block.write(typeflag, 156, 1, "ascii");
    block.write("ustar\0", 257, 6, "ascii");
    block.write("00", 263, 2, "ascii");
    let sum = 0;
    for (const byte of block) {
        sum += byte;
    }
    block.write(octal(sum, 7) + " ", 148, 8, "ascii");
    return block;
}

function padded(content: Buffer): Buffer[] {
    const rest = content.length % BLOCK;
    return rest === 0 ? [content] : [content, Buffer.alloc(BLOCK - rest, 0)];
}

function paxRecord(key: string, value: string): string {
    // The length prefix counts itself.
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (String(length).length + body.length !== length) {
        length = String(length).length + body.length;
    }
    return `${length}${body}`;
}

/** Header blocks for one entry; a PAX header carries names over 100 bytes. */
function entryHeader(name: string, size: number, mode: number, typeflag: string, uid: number, gid: number): Buffer[] {
    if (Buffer.byteLength(name) <= 100) {
        return [header(name, size, mode, typeflag, uid, gid)];
    }
    const pax = Buffer.from(paxRecord("path", name), "utf8");
    return [header("././@PaxHeader", pax.length, 0o644, "x", 0, 0), ...padded(pax), header(name.slice(0, 100), size, mode, typeflag, uid, gid)];
}

/**
 * A tar archive of `entries`. With `parents` (the default) missing parent directories get
 * entries of their own (root, 0755); without, the archive holds only the files, as the Docker
 * provider's uploads do, so directories that exist in the image keep their mode and owner.
 */
export function createTar(entries: TarEntry[], options: { parents?: boolean } = {}): Buffer {
    const parents = options.parents ?? true;
    const chunks: Buffer[] = [];
    const seenDirs = new Set<string>();
    const addDir = (dir: string, mode = 0o755, uid = 0, gid = 0) => {
        if (dir === "" || dir === "." || seenDirs.has(dir)) {
            return;
        }
        const parent = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
        addDir(parent);
        seenDirs.add(dir);
        chunks.push(...entryHeader(`${dir}/`, 0, mode, "5", uid, gid));
    };
    for (const entry of entries) {
        const entryPath = entry.path.replace(/^\/+/, "").replace(/\/+$/, "");
        if (entryPath.split("/").some((part) => part === ".." || part === "")) {
            throw new Error(`tar: refusing path ${entry.path}`);
        }
        const uid = entry.uid ?? 0;
        const gid = entry.gid ?? 0;
        if (entry.type === "directory" || entry.content === undefined) {
            addDir(entryPath, entry.mode ?? 0o755, uid, gid);
            continue;
        }
        if (parents) {
            addDir(entryPath.includes("/") ? entryPath.slice(0, entryPath.lastIndexOf("/")) : "");
        }
        chunks.push(...entryHeader(entryPath, entry.content.length, entry.mode ?? 0o644, "0", uid, gid), ...padded(entry.content));
    }
    chunks.push(Buffer.alloc(BLOCK * 2, 0));
    return Buffer.concat(chunks);
}

/** The header of a single-file archive whose content is streamed after it (then `tarTrailer(size)`). */
export function tarFileHeader(name: string, size: number, mode = 0o644): Buffer {
    return Buffer.concat(entryHeader(name, size, mode, "0", 0, 0));
}

/** Padding after streamed content of `size` bytes, and the end-of-archive blocks. */
export function tarTrailer(size: number): Buffer {
    const rest = size % BLOCK;
    return Buffer.concat([Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0), Buffer.alloc(BLOCK * 2, 0)]);
}

export interface ReadEntry {
    path: string;
    type: "file" | "directory" | "symlink" | "other";
    mode: number;
    uid: number;
    gid: number;
    content: Buffer;
    linkName: string;
}

function field(block: Buffer, offset: number, length: number): string {
    const raw = block.subarray(offset, offset + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? raw.length : end).toString("utf8");
}

function number(block: Buffer, offset: number, length: number): number {
    const raw = block.subarray(offset, offset + length);
    if (raw[0] & 0x80) {
        // GNU base-256 for large sizes.
        let value = 0;
        for (let i = 1; i < raw.length; i++) {
            value = value * 256 + raw[i];
        }
        return value;
    }
    const text = field(block, offset, length).trim();
    return text === "" ? 0 : parseInt(text, 8);
}

/** Every entry of a tar archive (ustar, GNU long names, PAX path/linkpath). */
export function readTar(archive: Buffer): ReadEntry[] {
    const entries: ReadEntry[] = [];
    let offset = 0;
    let longName: string | undefined;
    let pax: Record<string, string> = {};
    while (offset + BLOCK <= archive.length) {
        const block = archive.subarray(offset, offset + BLOCK);
        if (block.every((byte) => byte === 0)) {
            break;
        }
        const size = number(block, 124, 12);
        const typeflag = String.fromCharCode(block[156] || 48);
        const content = archive.subarray(offset + BLOCK, offset + BLOCK + size);
        offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
        if (typeflag === "L") {
            longName = content.toString("utf8").replace(/\0+$/, "");
            continue;
        }
        if (typeflag === "x") {
            pax = {};
            let text = content.toString("utf8");
            while (text.length > 0) {
                const space = text.indexOf(" ");
                const length = parseInt(text.slice(0, space), 10);
                const record = text.slice(space + 1, length - 1);
                const eq = record.indexOf("=");
                pax[record.slice(0, eq)] = record.slice(eq + 1);
                text = text.slice(length);
            }
            continue;
        }
        if (typeflag === "g") {
            continue;
        }
        const prefix = field(block, 345, 155);
        const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
        const type = typeflag === "0" || typeflag === "\0" || typeflag === "7" ? "file" : typeflag === "5" ? "directory" : typeflag === "2" ? "symlink" : "other";
        entries.push({
            path: name.replace(/^\.\//, "").replace(/\/$/, ""),
            type,
            mode: number(block, 100, 8),
            uid: number(block, 108, 8),
            gid: number(block, 116, 8),
            content: Buffer.from(content),
            linkName: pax.linkpath ?? field(block, 157, 100),
        });
        longName = undefined;
        pax = {};
    }
    return entries;
}
