import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import "./harness";
import { DaemonArgs, TRANSPORTS, Transport, dockerdArgs, validateDaemonArgs } from "../components/daemon";
import { DaemonConfigArgs, DaemonConfigSettings, validateDaemonConfigArgs } from "../components/daemonConfig";

type Args = DaemonArgs & DaemonConfigArgs;

/** The checks as a component runs them: the daemon's own arguments first, then its file against their command line. */
function check(args: Args, transport: Transport = "unix", prefix = "args."): DaemonConfigSettings {
    return validateDaemonConfigArgs(args, transport, validateDaemonArgs(args, prefix), prefix);
}

const cyclic: Record<string, unknown> = { "log-opts": {} };
(cyclic["log-opts"] as Record<string, unknown>).self = cyclic;

describe("daemon.json", () => {
    describe("refused", () => {
        const cases: [string, Args, RegExp, Transport?][] = [
            // Keys this package sets as flags, named with the argument that sets them.
            ["mirrors, which args.registryMirrors sets", { daemonConfig: { "registry-mirrors": ["https://m"] } }, /^args\.daemonConfig\.registry-mirrors: expected a key that no flag sets: args\.registryMirrors sets --registry-mirror, got \["https:\/\/m"\]$/],
            ["mirrors beside args.registryMirrors", { registryMirrors: ["https://a"], daemonConfig: { "registry-mirrors": [] } }, /^args\.daemonConfig\.registry-mirrors: expected a key that no flag sets: args\.registryMirrors sets --registry-mirror/],
            ["listeners", { daemonConfig: { hosts: ["tcp://0.0.0.0:2375"] } }, /^args\.daemonConfig\.hosts: expected a key that no flag sets: args\.transport sets --host/],
            ["TLS off", { daemonConfig: { tls: false } }, /^args\.daemonConfig\.tls: expected a key that no flag sets: args\.transport sets --tls, got false$/, "tls"],
            ["TLS verification off", { daemonConfig: { tlsverify: false } }, /^args\.daemonConfig\.tlsverify: expected a key that no flag sets: args\.transport sets --tlsverify/, "tls"],
            ["another server CA, with unix", { daemonConfig: { tlscacert: "/tmp/ca.pem" } }, /^args\.daemonConfig\.tlscacert: expected a key that no flag sets: args\.transport sets --tlscacert/],
            ["another server certificate", { daemonConfig: { tlscert: "/tmp/cert.pem" } }, /^args\.daemonConfig\.tlscert: .*args\.transport sets --tlscert/],
            ["another server key", { daemonConfig: { tlskey: "/tmp/key.pem" } }, /^args\.daemonConfig\.tlskey: .*args\.transport sets --tlskey/],
            ["insecure registries", { daemonConfig: { "insecure-registries": ["r:5000"] } }, /^args\.daemonConfig\.insecure-registries: expected a key that no flag sets: args\.registries\[\]\.insecure sets --insecure-registry/],
            ["an MTU", { daemonConfig: { mtu: 1400 } }, /^args\.daemonConfig\.mtu: expected a key that no flag sets: args\.mtu sets --mtu, got 1400$/],
            ["network options beside args.mtu", { mtu: 1400, daemonConfig: { "default-network-opts": { bridge: { "com.docker.network.enable_ipv6": "false" } } } }, /^args\.daemonConfig\.default-network-opts: expected a key that no flag sets: args\.mtu sets --default-network-opt/],
            ["the networks' MTU as a network option", { daemonConfig: { "default-network-opts": { bridge: { "com.docker.network.driver.mtu": "1400" } } } }, /^args\.daemonConfig\.default-network-opts\.bridge\.com\.docker\.network\.driver\.mtu: expected an option other than the networks' MTU: use args\.mtu/],
            // Keys that would undo what the package keeps.
            ["a data root off the daemon's volume", { daemonConfig: { "data-root": "/tmp/docker" } }, /^args\.daemonConfig\.data-root: expected a key other than data-root: \/var\/lib\/docker stays on the daemon's volume/],
            ["another exec root", { daemonConfig: { "exec-root": "/tmp/exec" } }, /^args\.daemonConfig\.exec-root: expected a key other than exec-root/],
            ["another pid file", { daemonConfig: { pidfile: "/var/lib/docker/docker.pid" } }, /^args\.daemonConfig\.pidfile: expected a key other than pidfile: the image's entrypoint clears/],
            // Keys that the user's extra flags set too, as dockerd parses them.
            ["a log level beside --log-level", { extraDockerdArgs: ["--debug", "--log-level=warn"], daemonConfig: { "log-level": "info" } }, /^args\.daemonConfig\.log-level: expected a key that no flag sets: args\.extraDockerdArgs\[1\] sets --log-level, got "info"$/],
            ["a log level beside -l", { extraDockerdArgs: ["-l=warn"], daemonConfig: { "log-level": "info" } }, /^args\.daemonConfig\.log-level: .*args\.extraDockerdArgs\[0\] sets --log-level/],
            ["debug beside combined shorthands", { extraDockerdArgs: ["-Dl=debug"], daemonConfig: { debug: true } }, /^args\.daemonConfig\.debug: .*args\.extraDockerdArgs\[0\] sets --debug/],
            ["a log level beside combined shorthands", { extraDockerdArgs: ["-Dl=debug"], daemonConfig: { "log-level": "debug" } }, /^args\.daemonConfig\.log-level: .*args\.extraDockerdArgs\[0\] sets --log-level/],
            ["labels beside --label", { extraDockerdArgs: ["--label=team=ci"], daemonConfig: { labels: ["cost=1"] } }, /^args\.daemonConfig\.labels: .*args\.extraDockerdArgs\[0\] sets --label/],
            ["log options beside --log-opt", { extraDockerdArgs: ["--log-opt=max-size=10m"], daemonConfig: { "log-opts": { "max-file": "3" } } }, /^args\.daemonConfig\.log-opts: .*args\.extraDockerdArgs\[0\] sets --log-opt/],
            ["address pools beside --default-address-pool", { extraDockerdArgs: ["--default-address-pool=base=10.10.0.0/16,size=24"], daemonConfig: { "default-address-pools": [] } }, /^args\.daemonConfig\.default-address-pools: .*sets --default-address-pool/],
            ["features beside --feature", { extraDockerdArgs: ["--feature=cdi=true"], daemonConfig: { features: { cdi: true } } }, /^args\.daemonConfig\.features: .*args\.extraDockerdArgs\[0\] sets --feature/],
            ["the snapshotter beside --feature", { extraDockerdArgs: ["--feature=cdi=true"], containerdSnapshotter: false }, /^args\.containerdSnapshotter: expected a key that no flag sets: args\.extraDockerdArgs\[0\] sets --feature, got \{"containerd-snapshotter":false\}$/],
            ["a storage driver beside -s", { extraDockerdArgs: ["-s=vfs"], daemonConfig: { "storage-driver": "overlay2" } }, /^args\.daemonConfig\.storage-driver: .*args\.extraDockerdArgs\[0\] sets --storage-driver/],
            // The typed arguments.
            ["the snapshotter given twice", { containerdSnapshotter: true, daemonConfig: { features: { "containerd-snapshotter": false } } }, /^args\.containerdSnapshotter: expected nothing beside args\.daemonConfig\.features\.containerd-snapshotter, which sets the same feature, got true$/],
            ["a snapshotter switch that is a string", { containerdSnapshotter: "false" as any }, /^args\.containerdSnapshotter: expected true or false, got "false"$/],
            ["an iptables switch that is a number", { iptablesLegacy: 1 as any }, /^args\.iptablesLegacy: expected true or false, got 1$/],
            ["features that are a list", { daemonConfig: { features: ["cdi"] } }, /^args\.daemonConfig\.features: expected an object of features, each true or false/],
            ["a feature that is a string", { daemonConfig: { features: { "containerd-snapshotter": "true" } } }, /^args\.daemonConfig\.features\.containerd-snapshotter: expected true or false, got "true"$/],
            // Values JSON cannot hold, or would change.
            ["a file that is a list", { daemonConfig: [] as any }, /^args\.daemonConfig: expected an object of daemon\.json keys/],
            ["a file that is null", { daemonConfig: null as any }, /^args\.daemonConfig: expected an object of daemon\.json keys.*, got null$/],
            ["a file that is text", { daemonConfig: '{"debug":true}' as any }, /^args\.daemonConfig: expected an object of daemon\.json keys/],
            ["a file that is an Output", { daemonConfig: pulumi.output({ debug: true }) as any }, /^args\.daemonConfig: expected an object of daemon\.json keys.*, got an Output$/],
            ["a value that is an Output", { daemonConfig: { "log-driver": pulumi.output("local") as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value .* known now/],
            ["a value that is a Promise", { daemonConfig: { "log-driver": Promise.resolve("local") as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value .* known now/],
            ["a function", { daemonConfig: { "log-driver": (() => "local") as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value \(.*\), got a function$/],
            ["an undefined value, which JSON drops", { daemonConfig: { "log-driver": undefined as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value \(.*\), got nothing$/],
            ["undefined in a list, which JSON writes as null", { daemonConfig: { labels: ["a=b", undefined as any] } }, /^args\.daemonConfig\.labels\[1\]: expected a JSON value/],
            ["a hole in a list", { daemonConfig: { labels: ["a=b", , "c=d"] as any } }, /^args\.daemonConfig\.labels\[1\]: expected a JSON value/],
            ["NaN", { daemonConfig: { "max-concurrent-downloads": NaN } }, /^args\.daemonConfig\.max-concurrent-downloads: expected a JSON value .*: JSON has no NaN or Infinity, got NaN$/],
            ["Infinity", { daemonConfig: { "shutdown-timeout": Infinity } }, /^args\.daemonConfig\.shutdown-timeout: expected .*JSON has no NaN or Infinity, got Infinity$/],
            ["a BigInt", { daemonConfig: { "shutdown-timeout": BigInt(15) as any } }, /^args\.daemonConfig\.shutdown-timeout: expected a JSON value \(.*\), got 15n$/],
            ["a symbol", { daemonConfig: { "log-driver": Symbol("local") as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value \(.*\), got a symbol$/],
            ["a Date", { daemonConfig: { builder: { gc: { since: new Date(0) as any } } } }, /^args\.daemonConfig\.builder\.gc\.since: expected .*a plain object, not an instance of a class, got "a Date instance"$/],
            ["a Map", { daemonConfig: { "log-opts": new Map([["max-size", "10m"]]) as any } }, /^args\.daemonConfig\.log-opts: expected .*not an instance of a class, got "a Map instance"$/],
            ["a value that contains itself", { daemonConfig: cyclic as any }, /^args\.daemonConfig\.log-opts\.self: expected a JSON value .*, got "a value that contains itself"$/],
            // Keys that would reach an object's prototype, at any depth.
            ["a __proto__ key", { daemonConfig: JSON.parse('{"__proto__":{"hosts":["tcp://0.0.0.0:2375"]}}') }, /^args\.daemonConfig\.__proto__: expected no key named __proto__, constructor or prototype/],
            ["a constructor key deep inside", { daemonConfig: { builder: { gc: JSON.parse('{"constructor":{"x":1}}') } } }, /^args\.daemonConfig\.builder\.gc\.constructor: expected no key named __proto__/],
            ["a __proto__ key in a list", { daemonConfig: { "default-address-pools": [JSON.parse('{"__proto__":{"size":24}}')] } }, /^args\.daemonConfig\.default-address-pools\[0\]\.__proto__: expected no key named/],
            ["a prototype key", { daemonConfig: { features: JSON.parse('{"prototype":true}') } }, /^args\.daemonConfig\.features\.prototype: expected no key named/],
        ];
        for (const [what, args, message, transport] of cases) {
            it(`refuses ${what}, naming the argument`, () => {
                assert.throws(() => check(args, transport), (error: Error) => {
                    assert.match(error.message, message);
                    return true;
                });
            });
        }

        it("names config keys by the prefix it is given", () => {
            assert.throws(() => check({ daemonConfig: { "registry-mirrors": [] } }, "unix", "dind:"), {
                message: /^dind:daemonConfig\.registry-mirrors: expected a key that no flag sets: dind:registryMirrors sets --registry-mirror/,
            });
        });

        it("refuses the key of every flag the package writes, for every transport, naming the argument that writes it", () => {
            const args: Args = { registryMirrors: ["https://m"], registries: [{ host: "r:5000", insecure: true }], mtu: 1400 };
            const ownerOf = /^args\.daemonConfig\.[-a-z]+: expected a key that no flag sets: args\.(transport|registryMirrors|registries\[\]\.insecure|mtu) sets --([-a-z]+)/;
            const plural: Record<string, string> = { host: "hosts", "registry-mirror": "registry-mirrors", "insecure-registry": "insecure-registries", "default-network-opt": "default-network-opts" };
            for (const transport of TRANSPORTS) {
                const flags = dockerdArgs(transport, validateDaemonArgs(args, "args.")).slice(1).map((arg) => arg.slice(2).split("=")[0]);
                assert.ok(flags.length >= 5, transport);
                for (const flag of flags) {
                    const key = plural[flag] ?? flag;
                    assert.throws(() => check({ ...args, daemonConfig: { [key]: "x" } }, transport), (error: Error) => {
                        assert.equal(ownerOf.exec(error.message)?.[2], flag, error.message);
                        return true;
                    });
                }
            }
        });
    });

    describe("accepted", () => {
        const examples: [string, Args][] = [
            ["builder garbage collection", { daemonConfig: { builder: { gc: { enabled: true, defaultKeepStorage: "20GB" } } } }],
            ["a log driver and its options", { daemonConfig: { "log-driver": "local", "log-opts": { "max-size": "10m", "max-file": "3" } } }],
            ["default address pools", { daemonConfig: { "default-address-pools": [{ base: "10.200.0.0/16", size: 24 }] } }],
            ["features", { daemonConfig: { features: { "containerd-snapshotter": false, cdi: true } } }],
            ["network options other than the MTU, without args.mtu", { daemonConfig: { "default-network-opts": { bridge: { "com.docker.network.bridge.enable_icc": "false" } } } }],
            ["keys beside extra flags that set others", { extraDockerdArgs: ["--log-level=warn", "-D"], daemonConfig: { "log-driver": "local", labels: ["team=ci"] } }],
            ["null, numbers and an empty object", { daemonConfig: { "default-shm-size": "128M", "shutdown-timeout": 30, "cgroup-parent": null, "log-opts": {} } }],
            ["every key with the tls transport and the daemon's own flags", { registryMirrors: ["https://m"], mtu: 1400, daemonConfig: { "max-concurrent-downloads": 6 } }],
        ];
        for (const [what, args] of examples) {
            it(`writes ${what} as given`, () => {
                const { file } = check(args, "tls");
                assert.ok(file !== undefined && file.endsWith("}\n"));
                assert.deepEqual(JSON.parse(file), args.daemonConfig);
                assert.deepEqual(Object.keys(JSON.parse(file)), Object.keys(args.daemonConfig!), "in the order given");
            });
        }

        it("adds the containerd snapshotter to the features given, or writes it alone", () => {
            const beside = check({ containerdSnapshotter: false, daemonConfig: { "log-driver": "local", features: { cdi: true } } });
            assert.deepEqual(JSON.parse(beside.file!), { "log-driver": "local", features: { cdi: true, "containerd-snapshotter": false } });
            assert.deepEqual(JSON.parse(check({ containerdSnapshotter: true }).file!), { features: { "containerd-snapshotter": true } });
        });

        it("writes no file without daemonConfig or containerdSnapshotter, and an empty one when asked", () => {
            assert.equal(check({}).file, undefined);
            assert.equal(check({ iptablesLegacy: true }).file, undefined);
            assert.equal(check({ daemonConfig: {} }).file, "{}\n");
        });

        it("sets the image's iptables switch only when asked: 1 for legacy, empty for nf_tables", () => {
            assert.deepEqual(check({}).environment, {});
            assert.deepEqual(check({ iptablesLegacy: true }).environment, { DOCKER_IPTABLES_LEGACY: "1" });
            assert.deepEqual(check({ iptablesLegacy: false }).environment, { DOCKER_IPTABLES_LEGACY: "" });
        });
    });
});
