/**
 * Golden files: rendered specs kept under test/golden, so a reviewer sees what a
 * change does to them and a grep for a flag leads to the example that sets it.
 * `UPDATE_GOLDEN=1` rewrites them from the current code instead of comparing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const GOLDEN_DIR = path.join(__dirname, "..", "golden");

/** Whether this run rewrites the golden files rather than checking them. */
export const UPDATING_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/** `value` as a golden file holds it: YAML with sorted keys, after a comment saying where it comes from. */
export function goldenText(value: unknown, about: string): string {
    const comment = about
        .split("\n")
        .map((line) => `# ${line}`.trimEnd())
        .join("\n");
    return `${comment}\n${yaml.dump(value, { sortKeys: true, lineWidth: -1, noRefs: true })}`;
}

/** Fails unless test/golden/<name>.yaml holds `value`; with UPDATE_GOLDEN=1, writes it there. */
export function assertGolden(name: string, value: unknown, about: string): void {
    const file = path.join(GOLDEN_DIR, `${name}.yaml`);
    const text = goldenText(value, about);
    if (UPDATING_GOLDEN) {
        fs.mkdirSync(GOLDEN_DIR, { recursive: true });
        fs.writeFileSync(file, text);
        return;
    }
    const relative = path.relative(path.join(__dirname, "..", ".."), file);
    assert.ok(fs.existsSync(file), `no golden file ${relative}: run the test with UPDATE_GOLDEN=1 to write it`);
    assert.equal(text, fs.readFileSync(file, "utf8"), `${relative} differs from the rendered spec: review the change, then run with UPDATE_GOLDEN=1 to accept it`);
}
